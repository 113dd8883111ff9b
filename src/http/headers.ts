// Request headers that routes document. Header objects allow other headers (a request has many).
// Semantics (RFC 9110 section 13) are in src/http/conditional.ts; a value that is neither `*` nor a list of
// quoted entity tags is a 422 with `in: "header"`.
// No examples on purpose: Swagger UI pre-fills "Try it out" from them, and a made-up ETag or key turns
// every try into a 412 or a replay.
import { Type } from 'typebox'
import { StringEnum } from './schemas.js'

/** One entity tag (RFC 9110 8.8.3): an optional weak prefix and an opaque tag of etagc characters. */
const ENTITY_TAG = '(?:W/)?"[\\x21\\x23-\\x7e\\x80-\\xff]*"'

/**
 * `*`, or a comma-separated list of entity tags with at least one tag (empty members allowed), whitespace
 * around each: exactly what src/http/conditional.ts parses, so that a value the document allows is never a 422
 * (test/http/entity-tag-pattern.test.ts compares the two).
 */
export const ENTITY_TAG_LIST = `^\\s*(?:\\*\\s*|(?:,\\s*)*${ENTITY_TAG}\\s*(?:,\\s*(?:${ENTITY_TAG}\\s*)?)*)$`

/** What a value that breaks a header pattern is told, instead of the pattern itself. */
export const HEADER_RULES: Record<string, string> = {
  [ENTITY_TAG_LIST]: 'must be * or a comma-separated list of quoted entity tags'
}

const EntityTags = (description: string) => Type.String({ pattern: ENTITY_TAG_LIST, description })

export const IfMatch = EntityTags('Only act if the resource still has one of these ETags (strong comparison), or exists at all for `*`; otherwise 412 and nothing changes. `*` or a comma-separated list of quoted entity tags (`"…"`, `W/"…"`); anything else is a 422.')

export const IfNoneMatch = EntityTags('Answer 304 with no body if the representation still has one of these ETags (weak comparison), or for `*`. `*` or a comma-separated list of quoted entity tags (`"…"`, `W/"…"`); anything else is a 422.')

const IfNoneMatchOnWrite = EntityTags('Refuse (412) if the resource currently has one of these ETags, or exists at all for `*`. `*` or a comma-separated list of quoted entity tags; anything else is a 422.')

export const ConditionalHeaders = Type.Object({
  'if-none-match': Type.Optional(IfNoneMatch),
  'if-match': Type.Optional(IfMatch)
})

export const WriteHeaders = Type.Object({
  'if-match': Type.Optional(IfMatch),
  'if-none-match': Type.Optional(IfNoneMatchOnWrite)
})

/** Idempotency-Key on every POST (src/plugins/idempotency.ts; documented by src/http/route-contract.ts). */
export const IdempotencyKey = Type.String({
  minLength: 1,
  maxLength: 255,
  pattern: '^[\\x20-\\x7E]+$',
  description: 'A unique value (a UUID, say) per intended operation: a retry with the same key and the same request within 24 hours gets the first response again (with `Idempotent-Replayed: true`) instead of a second write. 1–255 printable ASCII characters.'
})

/** The content codings a request body may be sent with. */
export const REQUEST_ENCODINGS = ['gzip', 'deflate', 'br', 'identity'] as const

export const ContentEncoding = StringEnum(REQUEST_ENCODINGS, {
  $id: 'ContentEncoding',
  title: 'ContentEncoding',
  description: 'The body may be sent compressed (`gzip`, `deflate` or `br`); any other coding is a 415. The body limit applies to the decoded body (413 as soon as it is passed), not to the bytes sent.'
})
