import { sql } from 'drizzle-orm'

/**
 * A named placeholder where a statement builder expects a value. Drizzle's templates and operators take a
 * placeholder as they take a value, so a statement can be built once per shape with every value a
 * placeholder, and the values bound each time it runs.
 */
export const slot = <T>(name: string): T => sql.placeholder(name) as unknown as T
