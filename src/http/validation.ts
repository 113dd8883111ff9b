// Request validation. Bodies are validated strictly (a string is never coerced into a number), while
// the query string, path and headers, which arrive as text, are coerced to their declared types.
// Nothing is ever stripped: unknown fields fail validation (additionalProperties: false everywhere).
// `date-time` is stricter than RFC 3339's grammar: only timestamps the server stores exactly (src/http/time.ts).
import { Ajv, type Options, type ValidateFunction } from 'ajv'
import addFormats from 'ajv-formats'
import { parseTimestamp } from './time.js'

function makeAjv (coerceTypes: Options['coerceTypes']): Ajv {
  const ajv = new Ajv({
    coerceTypes,
    useDefaults: true,
    removeAdditional: false,
    allErrors: true,
    strict: false
  })
  addFormats.default(ajv)
  ajv.addFormat('date-time', { type: 'string', validate: (value: string) => parseTimestamp(value) !== undefined })
  return ajv
}

/** Fastify's compilersFactory.buildValidator: one compiler over the schemas shared by addSchema. */
export function buildValidator (externalSchemas: unknown): (route: { schema: unknown, httpPart?: string }) => ValidateFunction {
  const strict = makeAjv(false)
  const coercing = makeAjv('array')
  for (const schema of Object.values(externalSchemas as Record<string, object>)) {
    strict.addSchema(schema)
    coercing.addSchema(schema)
  }
  return ({ schema, httpPart }) => {
    const ajv = httpPart === 'body' ? strict : coercing
    const id = (schema as { $id?: string }).$id
    return (id !== undefined && ajv.getSchema(id)) || ajv.compile(schema as object)
  }
}
