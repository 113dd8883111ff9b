// Request headers that routes document. Header objects allow other headers (a request has many).
// Semantics (RFC 9110 section 13) are in src/http/etag.ts; a value that is neither `*` nor a list of
// quoted entity tags is a 422 with `in: "header"`.
// No examples on purpose: Swagger UI pre-fills "Try it out" from them, and a made-up ETag or key turns
// every try into a 412 or a replay.
import { Type } from 'typebox'

export const IfMatch = Type.String({
  description: 'Only act if the resource still has one of these ETags (strong comparison), or exists at all for `*`; otherwise 412 and nothing changes.'
})

export const IfNoneMatch = Type.String({
  description: 'Answer 304 with no body if the representation still has one of these ETags (weak comparison), or for `*`.'
})

const IfNoneMatchOnWrite = Type.String({
  description: 'Refuse (412) if the resource currently has one of these ETags, or exists at all for `*`.'
})

export const ConditionalHeaders = Type.Object({
  'if-none-match': Type.Optional(IfNoneMatch),
  'if-match': Type.Optional(IfMatch)
})

export const WriteHeaders = Type.Object({
  'if-match': Type.Optional(IfMatch),
  'if-none-match': Type.Optional(IfNoneMatchOnWrite)
})
