// fast-check arbitraries for hostile HTTP requests, derived from an OpenAPI 3.1 document: values that
// sometimes fit a parameter's schema (so a request gets past validation into the handlers) and often do
// not (wrong types, huge and empty strings, odd Unicode, NUL bytes, deep JSON, invalid UTF-8).
import fc from 'fast-check'

export type Schema = Record<string, any>
export type Doc = { paths: Record<string, Record<string, any>>, components?: { schemas?: Record<string, Schema> } }

export function deref (doc: Doc, schema: Schema | undefined): Schema {
  let s = schema ?? {}
  for (let i = 0; i < 10 && typeof s.$ref === 'string'; i++) {
    s = doc.components?.schemas?.[String(s.$ref).replace('#/components/schemas/', '')] ?? {}
  }
  return s
}

export const hostileString: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: fc.string(), weight: 4 },
  { arbitrary: fc.string({ unit: 'binary', maxLength: 40 }), weight: 3 },
  { arbitrary: fc.string({ unit: 'grapheme', maxLength: 40 }), weight: 2 },
  {
    arbitrary: fc.constantFrom(
      '', ' ', '\u0000', 'a\u0000b', '\ud800', '\udfff\ud800', '\u202e\u202dtxt', '\ufeff', '\u200b', 'e\u0301',
      '𝔊𝔞𝔷𝔢𝔱𝔱𝔢', '👩‍👩‍👧‍👦', 'İıßẞ', '\r\n', '\t', '%00', '%', '%zz', '../../etc/passwd', '<script>alert(1)</script>',
      "' OR 1=1 --", '"; DROP TABLE articles; --', '-1', '0', '1e309', 'NaN', 'Infinity', '9007199254740993',
      '0x10', 'true', 'null', '[]', '{}', '__proto__', 'constructor', 'prototype', 'a'.repeat(10_000)
    ),
    weight: 4
  },
  { arbitrary: fc.integer({ min: 1, max: 200_000 }).map((n) => 'x'.repeat(n)), weight: 1 }
)

/** Full-text and search syntax that a naive MATCH or LIKE would choke on. */
export const hostileSearch: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom('"', '""', '"unterminated', 'a AND', 'OR', 'NOT', 'NEAR(', 'NEAR(a b, -1)', '*', 'a*', '*a', '^a',
    'title:x', 'nocolumn:x', '(((', ')', 'a OR OR b', '-', '- -', '+', '{a b}', "'", '%', '_', '\\', 'a:b:c', '\u0000'),
  fc.array(fc.constantFrom('"', '(', ')', '*', ':', '^', '-', '+', 'AND', 'OR', 'NOT', 'NEAR', ' ', 'a', 'é', '%', '_'), { maxLength: 12 })
    .map((parts) => parts.join('')),
  hostileString
)

/** Cursors: garbage, base64url of odd JSON, and foreign or tampered keys. */
export const hostileCursor: fc.Arbitrary<string> = fc.oneof(
  hostileString,
  fc.base64String({ maxLength: 64 }),
  fc.jsonValue({ maxDepth: 3 }).map((v) => Buffer.from(JSON.stringify(v)).toString('base64url')),
  fc.tuple(fc.string({ maxLength: 12 }), fc.oneof(fc.integer(), fc.double(), fc.string(), fc.constant(null)), fc.oneof(fc.integer(), fc.constant(1e300), fc.constant(-0)))
    .map((key) => Buffer.from(JSON.stringify(key)).toString('base64url')),
  fc.constantFrom('W10', 'bnVsbA', 'W1tbW1tbW1tbXV1dXV1dXV1d', Buffer.from('["x",1,2,3]').toString('base64url'))
)

export const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  hostileString,
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.constantFrom(Number.MAX_SAFE_INTEGER + 2, -1, 0, 1e308),
  fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 5 }),
  fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 5 }),
  fc.integer({ min: 1, max: 60 }).map((n) => JSON.parse('['.repeat(n) + ']'.repeat(n)) as unknown)
)

/** A value that fits the schema (as far as a generator can guess), for getting past validation. */
export function fitting (doc: Doc, raw: Schema | undefined, depth = 0): fc.Arbitrary<unknown> {
  const s = deref(doc, raw)
  if (depth > 4) return fc.constant(null)
  if ('const' in s) return fc.constant(s.const)
  if (Array.isArray(s.enum)) return fc.constantFrom(...(s.enum as unknown[]))
  const branches = (s.anyOf ?? s.oneOf) as Schema[] | undefined
  if (branches) return fc.oneof(...branches.map((b) => fitting(doc, b, depth + 1)))
  const examples = Array.isArray(s.examples) && s.examples.length > 0 ? [fc.constantFrom(...(s.examples as unknown[]))] : []
  const type = Array.isArray(s.type) ? s.type[0] : s.type
  switch (type) {
    case 'string':
      if (s.format === 'date-time') return fc.date({ noInvalidDate: true, min: new Date(0), max: new Date(4e12) }).map((d) => d.toISOString())
      if (s.pattern !== undefined) return examples[0] ?? fc.stringMatching(new RegExp(s.pattern as string)).map((v) => v.slice(0, s.maxLength ?? 100))
      return fc.oneof(...examples, fc.string({ minLength: s.minLength ?? 0, maxLength: Math.min(s.maxLength ?? 60, 60) }))
    case 'integer':
      return fc.integer({ min: s.minimum ?? -10, max: s.maximum ?? 1000 })
    case 'number':
      return fc.double({ min: s.minimum ?? -1000, max: s.maximum ?? 1000, noNaN: true })
    case 'boolean':
      return fc.boolean()
    case 'null':
      return fc.constant(null)
    case 'array':
      return fc.array(fitting(doc, s.items, depth + 1), { maxLength: Math.min(s.maxItems ?? 4, 4) })
    case 'object':
      return objectOf(doc, s, depth, fitting)
    default:
      return examples[0] ?? fc.jsonValue({ maxDepth: 2 })
  }
}

/** Fitting values with the odd hostile one, so that one bad field is tried beside good ones. */
export function mostlyFitting (doc: Doc, raw: Schema | undefined, depth = 0): fc.Arbitrary<unknown> {
  return fc.oneof({ arbitrary: fitting(doc, raw, depth), weight: 3 }, { arbitrary: hostileValue, weight: 1 })
}

function objectOf (doc: Doc, s: Schema, depth: number, value: typeof fitting): fc.Arbitrary<Record<string, unknown>> {
  const properties = (s.properties ?? {}) as Record<string, Schema>
  const model: Record<string, fc.Arbitrary<unknown>> = {}
  for (const [name, prop] of Object.entries(properties)) model[name] = value(doc, prop, depth + 1)
  const required = (s.required ?? []) as string[]
  return fc.record(model, { requiredKeys: required.filter((k) => k in model) })
}

/** Raw request bodies: JSON from the schema, random JSON, deep JSON, invalid UTF-8, non-JSON. */
export function body (doc: Doc, schema: Schema | undefined): fc.Arbitrary<string | Buffer> {
  const s = deref(doc, schema)
  const shaped = s.type === 'object' ? objectOf(doc, s, 0, mostlyFitting) : fc.jsonValue()
  return fc.oneof(
    { arbitrary: (s.type === 'object' ? objectOf(doc, s, 0, fitting) : fc.jsonValue()).map((v) => JSON.stringify(v)), weight: 8 },
    { arbitrary: shaped.map((v) => JSON.stringify(v)), weight: 4 },
    { arbitrary: fc.tuple(shaped, fc.string({ maxLength: 10 }), hostileValue).map(([v, k, x]) => JSON.stringify({ ...v as object, [k]: x })), weight: 2 },
    { arbitrary: fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)), weight: 1 },
    { arbitrary: fc.integer({ min: 1, max: 100_000 }).map((n) => '['.repeat(n) + ']'.repeat(n)), weight: 1 },
    { arbitrary: fc.integer({ min: 1, max: 50 }).map((n) => `{"title":"deep","x":${'{"a":'.repeat(n)}1${'}'.repeat(n)}}`), weight: 1 },
    {
      arbitrary: fc.tuple(shaped, fc.constantFrom([0xff], [0xc0, 0x80], [0xed, 0xa0, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80], [0xe2, 0x82], [0x00]))
        .map(([v, bad]) => {
          const text = JSON.stringify({ title: 'invalid utf-8 ', ...v as object })
          const at = text.indexOf('invalid utf-8 ') + 14
          return Buffer.concat([Buffer.from(text.slice(0, at)), Buffer.from(bad), Buffer.from(text.slice(at))])
        }),
      weight: 2
    },
    { arbitrary: fc.constantFrom('', ' ', 'null', '"x"', '[]', '{', '{"title":', '{"__proto__":{"a":1},"title":"p"}', '{"constructor":{"prototype":{"a":1}}}', '\u0000', 'title=x'), weight: 2 },
    { arbitrary: fc.string({ unit: 'binary' }), weight: 1 }
  )
}

/** A value as it travels in a URL: percent-encoded UTF-8, now and then with broken escapes. */
export const urlEncoded = (value: string): fc.Arbitrary<string> => fc.oneof(
  { arbitrary: fc.constant(encode(value)), weight: 8 },
  { arbitrary: fc.constantFrom('%', '%zz', '%C0%80', '%FF', '%ED%A0%80', '%00', '%2F..%2F'), weight: 1 }
)

function encode (value: string): string {
  return [...Buffer.from(value)].map((b) => /[A-Za-z0-9\-._~]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join('')
}

/** Header values as HTTP allows them on the wire (visible ASCII, space, tab and obs-text). */
export const headerValue: fc.Arbitrary<string> = hostileString.map((v) => v.replace(/[^\t\x20-\x7e\x80-\xff]/g, '').slice(0, 8000))
