// Request headers that routes document. Header objects allow other headers (a request has many).
import { Type } from 'typebox'

export const IfMatch = Type.String({
  description: 'Only act if the resource still has this ETag (or `*`); otherwise 412 and nothing changes.',
  examples: ['"kq3oX0m2wq1s0JcVnY5aQm3bZ2c"']
})

export const IfNoneMatch = Type.String({
  description: 'Answer 304 with no body if the resource still has this ETag.',
  examples: ['"kq3oX0m2wq1s0JcVnY5aQm3bZ2c"']
})

export const ConditionalHeaders = Type.Object({ 'if-none-match': Type.Optional(IfNoneMatch) })

export const WriteHeaders = Type.Object({ 'if-match': Type.Optional(IfMatch) })
