// The statements the app's PostgreSQL pool sends while `work` runs, as sent (text and values), for tests
// that explain the app's own statements rather than a copy of their text.
import pg from 'pg'

export interface SentStatement { text: string, values: unknown[] }

export async function statementsSent<T> (work: () => Promise<T>): Promise<{ result: T, sent: SentStatement[] }> {
  const sent: SentStatement[] = []
  const query = pg.Client.prototype.query
  pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
    const q = args[0] as { text?: string, values?: unknown[] } | string
    // drizzle passes the values beside the query object, or inside it.
    if (typeof q === 'object' && q.text !== undefined) sent.push({ text: q.text, values: Array.isArray(args[1]) ? args[1] : q.values ?? [] })
    return (query as (...a: unknown[]) => unknown).apply(this, args)
  } as typeof query
  try {
    return { result: await work(), sent }
  } finally {
    pg.Client.prototype.query = query
  }
}
