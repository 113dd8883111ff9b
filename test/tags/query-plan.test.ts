// The plans of the tag list's SQL (app.tags.explainList builds the statements list() runs), for every shape:
// who asks, each sort, a name prefix, a cursor, and tags whose public count moved since the counts were
// settled. Each page reads the index of its order (the public's partial indexes hold only the tags it may
// see), never the whole table, and sorts only a name prefix's tags or the few moved ones. At a million
// articles the tag list used to count every article per request (16.5 s for a page of 100: issue 18).
import t from 'tap'
import { tagNameOwnerSql } from '../../src/tags/article-tags.js'
import { build, onSqlite } from '../helper.js'

t.test('every tag list query reads an index in its order', onSqlite, async (t) => {
  const a = await build(t)
  const sqlite = a.app.db.$client
  sqlite.exec(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000)
    INSERT INTO tags (slug, name, created_at, updated_at, curated) SELECT 'tag-' || i, 'Tag ' || i, 0, 0, i % 3 = 0 FROM n`)
  sqlite.exec('ANALYZE')
  for (const editor of [true, false]) {
    for (const sort of ['name', '-articleCount'] as const) {
      for (const q of [undefined, 'ta']) {
        for (const after of [undefined, sort === 'name' ? ['Tag 5', 5] : [3, 5]]) {
          for (const moved of editor ? [new Map<number, number>()] : [new Map<number, number>(), new Map([[5, 1], [9, -1]])]) {
            const name = `${editor ? 'editor' : 'public'}, sort=${sort}${q === undefined ? '' : ', q'}${after === undefined ? '' : ', later page'}${moved.size > 0 ? ', counts moved' : ''}`
            const [page] = await a.app.tags.explainList({ limit: 20, after, q, sort, visibility: editor ? null : { visibleAt: a.clock.now }, withTotal: false }, moved)
            const plan = page!.plan.join('\n')
            t.notMatch(plan, /^SCAN tags$/m, `${name}: no scan of the table\n${plan}`)
            const index = editor
              ? (q !== undefined || sort === 'name' ? 'tags_name_idx' : 'tags_count_idx')
              : (q !== undefined || sort === 'name' ? 'tags_public_name_idx' : 'tags_public_count_idx')
            t.match(plan, new RegExp(`^(SCAN|SEARCH) tags USING INDEX ${index}\\b`, 'm'), `${name}: reads ${index}\n${plan}`)
            if (q !== undefined) t.match(plan, /USING INDEX \w+ \(name>\? AND name<\?\)/, `${name}: only the prefix's range`)
            const sorts = (plan.match(/USE TEMP B-TREE/g) ?? []).length
            t.equal(sorts, (moved.size > 0 ? 1 : 0) + (q !== undefined && sort === '-articleCount' ? 1 : 0), `${name}: sorts only what it must\n${plan}`)
            if (moved.size > 0) t.match(plan, /SEARCH tags USING INTEGER PRIMARY KEY \(rowid=\?\)/, `${name}: the moved tags by id`)
          }
        }
      }
    }
  }
})

// Which tag a name means (src/tags/article-tags.ts): two seeks, never a scan. Written as `slug = ? OR name = ?`
// (as the 409 check of POST and PATCH /v1/tags was), SQLite scanned every tag: the slug's index is partial.
t.test('the name owner lookup seeks by slug and by name', onSqlite, async (t) => {
  const a = await build(t)
  const sqlite = a.app.db.$client
  for (const self of [false, true]) {
    const plan = (sqlite.prepare(`EXPLAIN QUERY PLAN ${tagNameOwnerSql(self)}`).all({ slug: 'x', name: 'X', self: 1 }) as { detail: string }[])
      .map((r) => r.detail).join('\n')
    t.notMatch(plan, /^SCAN tags/m, `self=${self}: no scan\n${plan}`)
    t.match(plan, /SEARCH tags USING INDEX tags_slug_unique \(slug=\?\)/)
    t.match(plan, /SEARCH tags USING INDEX tags_name_idx \(name=\?\)/)
  }
})
