import { Type, type Static } from 'typebox'
import { Cursor, IncludeTotal, Limit, PageInfo, RowId, StringEnum, Timestamp, ref } from '../http/schemas.js'

export const Role = StringEnum(['admin', 'editor', 'moderator'], {
  $id: 'Role',
  title: 'Role',
  description: '`moderator`: comments. `editor`: articles, tags and comments. `admin`: everything, plus tokens.'
})
export type Role = Static<typeof Role>

export const Token = Type.Object({
  id: Type.Integer({ examples: [2] }),
  name: Type.String({ minLength: 1, maxLength: 100, examples: ['newsdesk'] }),
  role: ref(Role),
  createdAt: Timestamp
}, {
  $id: 'Token',
  title: 'Token',
  description: 'An API token, without its secret.',
  additionalProperties: false,
  examples: [{ id: 2, name: 'newsdesk', role: 'editor', createdAt: '2026-07-08T09:15:00.000Z' }]
})
export type Token = Static<typeof Token>

export const CreatedToken = Type.Object({
  id: Type.Integer(),
  name: Type.String(),
  role: ref(Role),
  createdAt: Timestamp,
  token: Type.Union([Type.String(), Type.Null()], {
    description: 'The secret, shown this once: only its hash is stored. `null` in a replay of the create (same `Idempotency-Key`).'
  })
}, {
  $id: 'CreatedToken',
  title: 'CreatedToken',
  description: 'A new API token with its secret `token`, shown in this response only. A replay of the create (same `Idempotency-Key`) has `token: null`: the secret was never stored, not even for replays.',
  additionalProperties: false,
  examples: [{ id: 2, name: 'newsdesk', role: 'editor', createdAt: '2026-07-08T09:15:00.000Z', token: 'gz_3q2-7wqPcM1m0v4xk7rY8nXl1H2QmZsA8bVx0cT9uEo' }]
})

export const CreateTokenBody = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 100, description: 'What the token is for, to recognise it in the list.' }),
  role: ref(Role)
}, {
  $id: 'CreateToken',
  title: 'CreateToken',
  additionalProperties: false,
  examples: [{ name: 'newsdesk', role: 'editor' }]
})

export const TokenIdParams = Type.Object({
  id: RowId('The token id, in plain decimal digits.')
}, { additionalProperties: false })

export const TokenListQuery = Type.Object({
  limit: Type.Optional(Limit),
  cursor: Type.Optional(Cursor),
  include: Type.Optional(ref(IncludeTotal))
}, { additionalProperties: false })

export const TokenList = Type.Object({
  data: Type.Array(ref(Token)),
  page: ref(PageInfo)
}, { $id: 'TokenList', title: 'TokenList', additionalProperties: false })
