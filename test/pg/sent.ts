// The statements the app's PostgreSQL pool sends while `work` runs, as sent (text and values), for tests
// that explain the app's own statements rather than a copy of their text; and what their plans read.
import pg from 'pg'

/** A statement as sent: its text, its values and, for a named prepared statement, its name. */
export interface SentStatement { text: string, values: unknown[], name?: string }

export async function statementsSent<T> (work: () => Promise<T>): Promise<{ result: T, sent: SentStatement[] }> {
  const sent: SentStatement[] = []
  const query = pg.Client.prototype.query
  pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
    const q = args[0] as { text?: string, values?: unknown[], name?: string } | string
    // drizzle passes the values beside the query object, or inside it; a text alone is an unnamed statement.
    if (typeof q === 'object' && q.text !== undefined) sent.push({ text: q.text, values: Array.isArray(args[1]) ? args[1] : q.values ?? [], ...(q.name === undefined ? {} : { name: q.name }) })
    else if (typeof q === 'string') sent.push({ text: q, values: Array.isArray(args[1]) ? args[1] : [] })
    return (query as (...a: unknown[]) => unknown).apply(this, args)
  } as typeof query
  try {
    return { result: await work(), sent }
  } finally {
    pg.Client.prototype.query = query
  }
}

export interface PlanNode { 'Node Type'?: string, 'Index Name'?: string, 'Index Cond'?: string, 'Relation Name'?: string, 'Actual Rows'?: number, 'Actual Loops'?: number, 'Rows Removed by Filter'?: number, Output?: string[], Filter?: string, Plans?: PlanNode[] }

/** A plan's node and every node below it, depth first. */
export const planNodes = <T extends { Plans?: T[] }>(node: T): T[] => [node, ...(node.Plans ?? []).flatMap((child) => planNodes(child))]

/** A statement as it was sent, run again under EXPLAIN ANALYZE: its plan's root. */
export async function analyzed (pool: pg.Pool, statement: SentStatement): Promise<PlanNode> {
  return (await pool.query(`EXPLAIN (ANALYZE, FORMAT JSON) ${statement.text}`, statement.values)).rows[0]['QUERY PLAN'][0].Plan as PlanNode
}

/** Rows of `relation` the plan read: those it kept and those its filters threw away, over every loop. */
export function rowsRead (node: PlanNode, relation: string): number {
  const own = node['Relation Name'] === relation
    ? ((node['Actual Rows'] ?? 0) + (node['Rows Removed by Filter'] ?? 0)) * (node['Actual Loops'] ?? 1)
    : 0
  return own + (node.Plans ?? []).reduce((sum, child) => sum + rowsRead(child, relation), 0)
}
