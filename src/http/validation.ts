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

/**
 * The strings, keys included, in parsed input that no database can store as they were sent, with their
 * JSON Pointers (RFC 6901). Half of a UTF-16 surrogate pair (JSON may escape one, `"\ud800"`): no UTF-8 text
 * holds it, so SQLite would store replacement characters and the body would not come back as it was sent.
 * NUL (U+0000, `"\u0000"` in JSON, `%00` in a URL): PostgreSQL's text and jsonb hold none, so the same
 * request must be refused on both engines rather than stored on one and fail on the other.
 */
function unstorableStrings (value: unknown, surrogates: boolean, pointer = '', found: FieldError[] = []): FieldError[] {
  const check = (text: string, at: string): void => {
    if (text.includes('\u0000')) found.push({ instancePath: at, keyword: 'noNul', message: 'must not contain U+0000 (NUL)' })
    else if (surrogates && LONE_SURROGATE.test(text)) found.push({ instancePath: at, keyword: 'wellFormed', message: 'must be well-formed Unicode (it holds half of a surrogate pair)' })
  }
  if (typeof value === 'string') {
    check(value, pointer)
  } else if (Array.isArray(value)) {
    value.forEach((item, i) => unstorableStrings(item, surrogates, `${pointer}/${i}`, found))
  } else if (value !== null && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      const at = `${pointer}/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`
      check(key, at)
      unstorableStrings(item, surrogates, at, found)
    }
  }
  return found
}

/** A body whose strings cannot be stored as sent fails validation (422, with their pointers) before its schema is checked. */
const storableBody = (validate: ValidateFunction): ValidateFunction => checkedFirst(validate, (data) => unstorableStrings(data, true))

/**
 * The same for the path and the query string, for NUL (`%00`): a search, a filter or a slug holding one would
 * reach PostgreSQL, which refuses it. (Percent-decoding turns half a surrogate pair into U+FFFD already.)
 */
const storableText = (validate: ValidateFunction): ValidateFunction => checkedFirst(validate, (data) => unstorableStrings(data, false))

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
        ? storableText(plainDecimalIntegers(validate, schema))
        : httpPart === 'body' ? storableBody(validate) : validate
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
