// Keyset pages on PostgreSQL (src/db/pg/keyset.ts) walk a nullable date in SQLite's order (NULLs first
// ascending, last descending), each page one range of the NULLS FIRST index: no sort step.
import { test } from 'tap'
import { and, asc, eq, sql } from 'drizzle-orm'
import * as schema from '../../src/db/pg/schema.js'
import { after, orderBy, type KeysetOrder } from '../../src/db/pg/keyset.js'
import { testDatabase } from './cluster.js'

test('pages of a nullable column, both directions, in SQLite order and from the index', async (t) => {
  const { db } = await testDatabase(t)
  // 40 articles: every third a draft without a date, the others with dates that repeat (ties on id).
  const dates = Array.from({ length: 40 }, (_, i) => i % 3 === 0 ? null : 1_000 + (i % 7) * 10)
  await db.insert(schema.articles).values(dates.map((publishedAt, i) => ({
    slug: `a-${i}`, title: `A ${i}`, createdAt: 1, updatedAt: 1, status: 'archived' as const, publishedAt
  })))
  const all = await db.select({ id: schema.articles.id, at: schema.articles.publishedAt }).from(schema.articles).orderBy(asc(schema.articles.id))
  // SQLite's order, computed here: NULL below every number.
  const rank = (r: { at: number | null }) => r.at ?? -Infinity
  const expected = (descending: boolean) => [...all].sort((x, y) => descending
    ? rank(y) - rank(x) || y.id - x.id
    : rank(x) - rank(y) || x.id - y.id).map((r) => r.id)

  for (const descending of [false, true]) {
    const order: KeysetOrder = { column: schema.articles.publishedAt, tie: schema.articles.id, descending, nullable: true }
    const status = eq(schema.articles.status, 'archived')
    const page = (key?: { at: number | null, id: number }) => db.select({ id: schema.articles.id, at: schema.articles.publishedAt })
      .from(schema.articles).where(key === undefined ? status : and(status, after(order, key.at, key.id)))
      .orderBy(orderBy(order)).limit(7)
    const walked: number[] = []
    for (let rows = await page(); rows.length > 0; rows = await page(rows.at(-1))) walked.push(...rows.map((r) => r.id))
    t.same(walked, expected(descending), `${descending ? 'descending' : 'ascending'}: every row once, in SQLite's order`)

    // With a mid-list key after a NULL and after a date, the plan reads the index in order: no Sort node.
    for (const key of [{ at: null, id: 13 }, { at: 1_020, id: 2 }]) {
      const query = page(key).toSQL()
      const plan = await db.transaction(async (tx) => {
        await tx.execute(sql`SET LOCAL enable_seqscan = off`)
        const rows = await tx.execute(sql.raw(`EXPLAIN ${inline(query.sql, query.params)}`))
        return rows.rows.map((r) => String(r['QUERY PLAN'])).join('\n')
      })
      t.match(plan, /Index (Only )?Scan( Backward)? using articles_(status_)?published_idx/, `${descending ? 'desc' : 'asc'} after ${String(key.at)}: an index on published_at`)
      t.notMatch(plan, /Sort/, 'in its order')
    }
  }
})

/** A statement with its parameters written in (EXPLAIN takes no parameters); numbers and strings only. */
function inline (text: string, params: unknown[]): string {
  return text.replace(/\$(\d+)/g, (_, n: string) => {
    const v = params[Number(n) - 1]
    return typeof v === 'number' ? String(v) : `'${String(v).replace(/'/g, "''")}'`
  })
}

test('pages of a NOT NULL column (updated_at), both directions, from the index', async (t) => {
  const { db } = await testDatabase(t)
  await db.insert(schema.articles).values(Array.from({ length: 40 }, (_, i) => ({
    slug: `u-${i}`, title: `U ${i}`, createdAt: 1, updatedAt: 1_000 + (i % 9) * 10, status: 'published' as const, publishedAt: 1
  })))
  const all = await db.select({ id: schema.articles.id, at: schema.articles.updatedAt }).from(schema.articles)
  for (const descending of [false, true]) {
    const order: KeysetOrder = { column: schema.articles.updatedAt, tie: schema.articles.id, descending, nullable: false }
    for (const filtered of [false, true]) {
      const where = filtered ? eq(schema.articles.status, 'published') : undefined
      const page = (key?: { at: number, id: number }) => db.select({ id: schema.articles.id, at: schema.articles.updatedAt })
        .from(schema.articles).where(key === undefined ? where : and(where, after(order, key.at, key.id)))
        .orderBy(orderBy(order)).limit(7)
      const walked: number[] = []
      for (let rows = await page(); rows.length > 0; rows = await page(rows.at(-1))) walked.push(...rows.map((r) => r.id))
      const expected = [...all].sort((x, y) => descending ? y.at - x.at || y.id - x.id : x.at - y.at || x.id - y.id).map((r) => r.id)
      t.same(walked, expected, `${descending ? 'descending' : 'ascending'}${filtered ? ', by status' : ''}: every row once, in order`)
      const query = page({ at: 1_040, id: 5 }).toSQL()
      const plan = await db.transaction(async (tx) => {
        await tx.execute(sql`SET LOCAL enable_seqscan = off`)
        const rows = await tx.execute(sql.raw(`EXPLAIN ${inline(query.sql, query.params)}`))
        return rows.rows.map((r) => String(r['QUERY PLAN'])).join('\n')
      })
      t.match(plan, /Index (Only )?Scan( Backward)? using articles_(status_)?updated_idx/, `${descending ? 'desc' : 'asc'}${filtered ? ', by status' : ''}: an index on updated_at`)
      t.notMatch(plan, /Sort/, 'in its order')
    }
  }
})
