// How feeds and sitemaps are documented: their media types, validators and conditional headers.
import { Type, type TSchema } from 'typebox'
import { IfMatch, IfNoneMatch } from '../http/headers.js'

const validators = {
  etag: { type: 'string', description: 'A strong validator: the hash of the body. Send it back in `If-None-Match`.' },
  'last-modified': {
    type: 'string',
    description: 'When the document last changed (an HTTP date). Left out until that second is over; send it back in `If-Modified-Since`.'
  }
}

/** A 200 whose body has this media type (a string, or `schema`). */
export function documentResponse (mediaType: string, description: string, schema: TSchema | object = { type: 'string' }) {
  return Type.Unsafe<string>({ description, headers: validators, content: { [mediaType]: { schema } } })
}

/** Problems specific to documents with absolute URLs (the rest come from problems()). */
export const originProblems = {
  400: Type.Unsafe({
    description: 'Malformed request: a broken URL escape, or, when `PUBLIC_URL` is unset, a `Host` (or trusted `X-Forwarded-Host`) that is not a host name.',
    content: { 'application/problem+json': { schema: Type.Ref('Problem') } }
  })
}

export const NotModifiedDocument = Type.Unsafe<undefined>({
  type: 'null',
  description: 'Not modified: the client\'s `If-None-Match` (or, without one, `If-Modified-Since`) shows it has the current document.',
  headers: validators
})

export const DocumentHeaders = Type.Object({
  'if-none-match': Type.Optional(IfNoneMatch),
  'if-modified-since': Type.Optional(Type.String({
    description: 'An HTTP date: answer 304 if the document has not changed since. Ignored when `If-None-Match` is sent, or when it is not an HTTP date.'
  })),
  'if-match': Type.Optional(IfMatch)
})
