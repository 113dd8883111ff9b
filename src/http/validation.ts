// Request validation. Bodies are validated strictly (a string is never coerced into a number), while
// the query string, path and headers, which arrive as text, are coerced to their declared types.
// Nothing is ever stripped: unknown fields fail validation (additionalProperties: false everywhere).
// `date-time` is stricter than RFC 3339's grammar: only timestamps the server stores exactly (src/http/time.ts);
// `email` is the rule the document states (EMAIL_PATTERN).
import { Ajv, type Options, type ValidateFunction } from 'ajv'
import addFormats from 'ajv-formats'
import { EMAIL_PATTERN } from './schemas.js'
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
  // The addresses Gazette accepts, as the document states them (src/http/schemas.ts).
  ajv.addFormat('email', new RegExp(EMAIL_PATTERN, 'u'))
  return ajv
}

type FieldError = { instancePath: string, message: string, keyword: string }

/**
 * `validate` preceded by `check`, a rule Ajv cannot express on the raw input: when it finds errors, they
 * are the validation's errors (422 with their pointers) and the schema is not checked.
 */
function checkedFirst (validate: ValidateFunction, check: (data: unknown) => FieldError[]): ValidateFunction {
  const checked = function (this: unknown, data: unknown, context?: unknown) {
    const errors = check(data)
    if (errors.length > 0) {
      checked.errors = errors.map((e) => ({ ...e, schemaPath: '#', params: {} }))
      return false
    }
    const valid = (validate as (this: unknown, data: unknown, context?: unknown) => boolean).call(this, data, context)
    checked.errors = validate.errors
    return valid
  } as ValidateFunction
  // Fastify passes the parent object (to let Ajv coerce the root) when the validator has a schemaEnv.
  return Object.assign(checked, { schema: validate.schema, schemaEnv: validate.schemaEnv })
}

/** How an integer may be spelt in a path or query string: digits, no sign, no leading zero. */
const DECIMAL = /^(?:0|[1-9][0-9]*)$/

/**
 * The path and the query string are text, coerced to their schema's types by Ajv, which reads any
 * spelling Number() does: `0x1`, ` 1`, `01`, `1e0` and `+1` would all name id 1. An integer there is
 * plain decimal (contract section 0); anything else fails validation before coercion (422).
 */
function plainDecimalIntegers (validate: ValidateFunction, schema: unknown): ValidateFunction {
  const properties = (schema as { properties?: Record<string, { type?: unknown }> }).properties ?? {}
  const integers = Object.keys(properties).filter((name) => properties[name]?.type === 'integer')
  if (integers.length === 0) return validate
  return checkedFirst(validate, (data) => {
    const values = data as Record<string, unknown> | null
    if (values === null || typeof values !== 'object') return []
    return integers.filter((name) => typeof values[name] === 'string' && !DECIMAL.test(values[name] as string))
      .map((name) => ({ instancePath: `/${name}`, keyword: 'type', message: 'must be an integer in plain decimal digits' }))
  })
}

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/

/** JSON Pointers (RFC 6901) to the strings, keys included, in a parsed body that hold a lone surrogate. */
function illFormedStrings (value: unknown, pointer = '', found: string[] = []): string[] {
  if (typeof value === 'string') {
    if (LONE_SURROGATE.test(value)) found.push(pointer)
  } else if (Array.isArray(value)) {
    value.forEach((item, i) => illFormedStrings(item, `${pointer}/${i}`, found))
  } else if (value !== null && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      const at = `${pointer}/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`
      if (LONE_SURROGATE.test(key)) found.push(at)
      illFormedStrings(item, at, found)
    }
  }
  return found
}

/**
 * JSON may escape half a UTF-16 surrogate pair (`"\ud800"`); no UTF-8 text can hold it, so SQLite would
 * store replacement characters instead, and the body would not come back as it was sent. Such a string
 * fails validation (422, with its pointer) before the schema is checked.
 */
const wellFormedStrings = (validate: ValidateFunction): ValidateFunction => checkedFirst(validate, (data) =>
  illFormedStrings(data).map((pointer) => ({ instancePath: pointer, keyword: 'wellFormed', message: 'must be well-formed Unicode (it holds half of a surrogate pair)' })))

/** The compiler of one set of shared schemas: its two Ajv instances and what it has compiled, by route schema. */
interface ValidatorCompiler { compile: (route: { schema: unknown, httpPart?: string }) => ValidateFunction }

// Compiling is pure (the same shared schemas and route schema make the same function), and it is most of
// what building an app costs (ajv ~20%, and the serialiser's ~30%: src/http/serialization.ts). A process
// that builds more than one app — the test suite builds hundreds — compiles each distinct schema once.
// Keys are the schemas' JSON, so a schema built anew for each app still finds its compiled function, and a
// schema that differs by one keyword (a limit taken from the configuration) gets its own.
const compilers = new Map<string, ValidatorCompiler>()

function validatorCompiler (externalSchemas: unknown): ValidatorCompiler {
  const strict = makeAjv(false)
  const coercing = makeAjv('array')
  for (const schema of Object.values(externalSchemas as Record<string, object>)) {
    strict.addSchema(schema)
    coercing.addSchema(schema)
  }
  const compiled = new Map<string, ValidateFunction>()
  return {
    compile ({ schema, httpPart }) {
      const key = `${httpPart ?? ''} ${JSON.stringify(schema)}`
      const known = compiled.get(key)
      if (known !== undefined) return known
      const ajv = httpPart === 'body' ? strict : coercing
      const id = (schema as { $id?: string }).$id
      const validate = (id !== undefined && ajv.getSchema(id)) || ajv.compile(schema as object)
      const checked = httpPart === 'params' || httpPart === 'querystring'
        ? plainDecimalIntegers(validate, schema)
        : httpPart === 'body' ? wellFormedStrings(validate) : validate
      compiled.set(key, checked)
      return checked
    }
  }
}

/** Fastify's compilersFactory.buildValidator: one compiler over the schemas shared by addSchema, per process. */
export function buildValidator (externalSchemas: unknown): (route: { schema: unknown, httpPart?: string }) => ValidateFunction {
  const key = JSON.stringify(externalSchemas)
  let compiler = compilers.get(key)
  if (compiler === undefined) {
    compiler = validatorCompiler(externalSchemas)
    compilers.set(key, compiler)
  }
  return compiler.compile
}
