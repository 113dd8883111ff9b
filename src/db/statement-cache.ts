// Prepared statements kept per query *shape*: the statement's text depends only on the key (which
// filters are present, the sort, what drives the query, whether a cursor is given), the values are bound
// per request through Drizzle placeholders. Building a Drizzle query and having SQLite compile it cost a
// list request more than running it (bench/README.md, issue 17: ~8-13% building, ~6% `prepare`).
// Bounded: the shapes are combinations of a request's options (several tags, an author, dates…), so the
// least recently used one is dropped when `max` are held.

export class StatementCache<T> {
  readonly #entries = new Map<string, T>()
  #built = 0

  constructor (readonly max: number) {}

  /** The statement of this shape, built (once, until evicted) by `build`. */
  get (key: string, build: () => T): T {
    const found = this.#entries.get(key)
    if (found !== undefined) {
      // Most recently used last: a Map iterates in insertion order.
      this.#entries.delete(key)
      this.#entries.set(key, found)
      return found
    }
    const made = build()
    this.#built++
    this.#entries.set(key, made)
    if (this.#entries.size > this.max) this.#entries.delete(this.#entries.keys().next().value!)
    return made
  }

  /** How many statements are held, and how many were built since start (for tests). */
  get stats (): { size: number, built: number } {
    return { size: this.#entries.size, built: this.#built }
  }
}
