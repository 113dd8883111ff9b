// How responses are serialised: Fastify's own compiler (fast-json-stringify), over a copy of each response
// schema in which a nullable field is written `{ …T, nullable: true }` instead of `anyOf: [T, null]`.
//
// Why: fast-json-stringify serialises an `anyOf` by asking ajv which branch a value matches, for every
// value, every time: a comment's `avatarHash` ran its 64-hex pattern for each comment of a page (2% of a
// 100-comment page), each article's nullable fields 1–2% of a list. With `nullable: true` it writes `null`
// for null and the field's own serialiser otherwise: the same bytes for every value the schema allows, no
// validation. The schemas themselves are not touched: validation and the OpenAPI document (made by
// @fastify/swagger from the route schemas) still see `anyOf: [T, null]`, which generators understand.
// test/http/serialization.test.ts compares the bytes with the anyOf schemas' serialiser.
import SerializerSelector from '@fastify/fast-json-stringify-compiler'

type Schema = Record<string, unknown>

const isObject = (x: unknown): x is Schema => typeof x === 'object' && x !== null && !Array.isArray(x)
const isNull = (x: unknown): boolean => isObject(x) && x.type === 'null' && Object.keys(x).length === 1
// Branches that fast-json-stringify serialises by their own keywords: a type or a $ref, no combinator.
const plain = (x: unknown): x is Schema => isObject(x) && x.anyOf === undefined && x.oneOf === undefined &&
  x.allOf === undefined && x.if === undefined && x.nullable === undefined && !Array.isArray(x.type) && x.type !== 'null' &&
  (typeof x.type === 'string' || typeof x.$ref === 'string')

// Keywords whose value is data, not a schema; and those whose value maps names (of properties, of
// definitions) to schemas, whatever the names are.
const DATA = new Set(['examples', 'example', 'enum', 'const', 'default'])
const SCHEMA_MAPS = new Set(['properties', 'patternProperties', '$defs', 'definitions'])
const mapValues = (x: Schema): Schema => Object.fromEntries(Object.entries(x).map(([k, v]) => [k, nullableForSerialisation(v)]))

/**
 * A copy of `schema` with every `anyOf: [T, { type: 'null' }]` (either order) written as `{ …T, nullable: true }`,
 * its sibling keywords (description, examples) kept. Anything else is copied as it is.
 */
export function nullableForSerialisation (schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(nullableForSerialisation)
  if (!isObject(schema)) return schema
  const out: Schema = {}
  for (const [key, value] of Object.entries(schema)) {
    out[key] = DATA.has(key) ? value : SCHEMA_MAPS.has(key) && isObject(value) ? mapValues(value) : nullableForSerialisation(value)
  }
  const anyOf = out.anyOf
  if (Array.isArray(anyOf) && anyOf.length === 2 && anyOf.some(isNull)) {
    const other = anyOf.find((x) => !isNull(x))
    if (plain(other)) {
      const { anyOf: _anyOf, ...siblings } = out
      return { ...siblings, ...other, nullable: true }
    }
  }
  return out
}

type Compile = SerializerSelector.SerializerCompiler
type Serializer = ReturnType<Compile>

// One compiler per set of shared schemas and options, and its serialisers by route schema, for the whole
// process: compiling is pure, and it is a third of what building an app costs (src/http/validation.ts says
// why a process builds more than one). Keys are JSON, as there.
const compilers = new Map<string, (route: Parameters<Compile>[0]) => Serializer>()

/** Fastify's compilersFactory.buildSerializer: the default one, over the rewritten schemas. */
export function buildSerializer (externalSchemas: unknown, options?: SerializerSelector.Options): Compile {
  const key = JSON.stringify([externalSchemas, options ?? null])
  const known = compilers.get(key)
  if (known !== undefined) return known
  const compile = SerializerSelector()(nullableForSerialisation(externalSchemas), options)
  const compiled = new Map<string, Serializer>()
  const cached = (route: Parameters<Compile>[0]): Serializer => {
    const schemaKey = JSON.stringify(route.schema)
    let serializer = compiled.get(schemaKey)
    if (serializer === undefined) {
      serializer = compile({ ...route, schema: nullableForSerialisation(route.schema) })
      compiled.set(schemaKey, serializer)
    }
    return serializer
  }
  compilers.set(key, cached)
  return cached
}
