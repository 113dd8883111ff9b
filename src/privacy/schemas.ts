// Bodies of the data-subject requests. The email travels in the body, never in the URL, so it never
// reaches an access log.
import { Type, type Static } from 'typebox'

const Email = Type.String({
  minLength: 3,
  maxLength: 254,
  pattern: '^[^@\\s]+@[^@\\s]+$',
  description: 'The commenter\'s address, matched case-insensitively against every comment (as moderation compares them).',
  examples: ['ivan@example.com']
})

export const PrivacyExportRequest = Type.Object({
  email: Email,
  // Like the query's `limit`, but without a `default`: generated clients read a default as "always
  // present" and would make `limit` required in the request body.
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, description: 'Comments per page: 1–100, 20 when absent.' })),
  cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 512, description: 'The `page.nextCursor` of the previous page, sent with the same `email`.' }))
}, {
  $id: 'PrivacyExportRequest',
  title: 'PrivacyExportRequest',
  description: 'Which address to export, and which page.',
  additionalProperties: false,
  examples: [{ email: 'ivan@example.com', limit: 50 }]
})
export type PrivacyExportRequest = Static<typeof PrivacyExportRequest>

export const PrivacyEraseRequest = Type.Object({
  email: Email
}, {
  $id: 'PrivacyEraseRequest',
  title: 'PrivacyEraseRequest',
  description: 'Whose data to erase.',
  additionalProperties: false,
  examples: [{ email: 'ivan@example.com' }]
})

export const ErasureResult = Type.Object({
  erased: Type.Integer({ minimum: 0, description: 'Comments by the address that were turned into tombstones or removed by this request; 0 when there were none left (a repeat).' })
}, {
  $id: 'ErasureResult',
  title: 'ErasureResult',
  description: 'What an erasure changed.',
  additionalProperties: false,
  examples: [{ erased: 3 }]
})
