// Rows read from a driver as arrays, made into objects by one object literal compiled for their fields: every
// row then has one shape, which V8 keeps fast, and each value goes through its column's own decoder (a
// boolean column's 0/1 on SQLite, a JSON column's text), as Drizzle's own mapping does. Drizzle's mapping
// checks every field of every row with `is()` and looks its decoder up again: a page of 100 comments spent
// about a tenth of its CPU there on SQLite (bench/README.md, "Page statements on the driver") and a quarter
// on PostgreSQL ("PostgreSQL: an article's tags by key, a thread's rows on the driver"). Used by
// ./driver-statement.ts (SQLite) and ./pg/driver-rows.ts.

/** What decodes one field's value; a Drizzle column is one. */
export interface Decoder { mapFromDriverValue: (value: unknown) => unknown }

/** A value as the driver gave it (an SQL expression's field: its `mapWith` decoder is not Drizzle's public API). */
export const AS_READ: Decoder = { mapFromDriverValue: (value) => value }

/** Builds `{ [names[i]]: decoded values[i], … }`, a null staying null, as one compiled literal. */
export function rowBuilder<T> (names: readonly string[], decoders: readonly Decoder[]): (values: unknown[]) => T {
  // In an object literal, `__proto__: v` sets the prototype instead of making a field.
  if (names.includes('__proto__')) throw new Error('a row field cannot be named __proto__')
  // An object filled key by key in a loop measured no faster than Drizzle's mapping once its rows were
  // read and copied downstream; the literal was 0.8× (bench/README.md, "Page statements on the driver").
  // eslint-disable-next-line no-new-func -- the text is built from the fields' own names, JSON-quoted
  const build = new Function('c', 'v', `return { ${names.map((name, i) => `${JSON.stringify(name)}: v[${i}] === null ? null : c[${i}].mapFromDriverValue(v[${i}])`).join(', ')} }`) as (c: readonly Decoder[], v: unknown[]) => T
  return (values) => build(decoders, values)
}
