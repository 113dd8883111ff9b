// The tags as articles show them ([slug, name]), by id, in each process's memory. A read of articles takes
// their tags from article_tags as ids, in the editor's order, with the version of the tags, and names them
// here. The version is one row (tag_refs_version) that triggers move on every change of a slug, a name or a
// deletion, and when a tag row goes without having been deleted first (migrations/0018_tag_refs_version.sql,
// migrations/pg/0012_tag_refs_version.sql). Naming each tag in SQL was a sixth of a ranked search's page
// statement on PostgreSQL and of a list page's summaries on SQLite (bench/README.md, "Tags named from a
// dictionary").
//
// Why it is what a fresh read would say: the dictionary holds what the tags were at one version and
// forgets everything when a look-up finds another one. A read's ids and version come from one snapshot; the
// ids the dictionary lacks are looked up with the version again (inside a list page's transaction on
// SQLite, so the same snapshot; otherwise a later one), and an answer is made only from names of the read's
// own version. When the look-up finds the version moved meanwhile, or another read's look-up moved the
// dictionary to another version meanwhile (reads in flight together share it), the caller reads again, a
// few times at most (withSettledTags). On SQLite a tag created since needs no version: its id is new
// (AUTOINCREMENT), so no dictionary has an entry for it to be wrong about. On PostgreSQL an identity can
// give an id again after the database is brought back to an older state, so an insert moves the version
// there too. The one way left to be wrong is a version reached again (see `version` below).
// test/tags/tag-refs.test.ts proves each kind of change reaches every read, on both engines.
import type Database from 'better-sqlite3'
import type { TagPairs } from '../articles/stored.js'

/** A tag as the dictionary learns it: its row, or the id alone when the row is gone. */
export type TagRefRow = { id: number, slug: string | null, name: string | null, deleted: boolean | number | null }

/** Most tags a dictionary holds; past it, it starts again from nothing (the names are re-read as needed). */
export const TAG_REFS_MAX = 50_000

/** A read that met a version other than the one its look-up found: read again. */
export class TagRefsMoved extends Error {
  override name = 'TagRefsMoved'
}

export function tagRefs (max = TAG_REFS_MAX) {
  // The version the names below are of; -1 before the first read. Only equality matters: any other
  // version is another, whose names are looked up. On SQLite the version goes up by one. On PostgreSQL it
  // moves by a random step, wrapping before 2^31, and a tag's insert moves it too (migrations/pg/0014): a
  // database brought back to an older state while processes run lands on the version a process holds
  // with a chance of one in a million a move at most, and a tag id it gives again is looked up again.
  let version = -1
  // undefined: not known; null: deleted or gone (not shown).
  let known = new Map<number, readonly [slug: string, name: string] | null>()

  const become = (v: number): void => {
    version = v
    known = new Map()
  }

  return {
    /**
     * The ids among these that the dictionary cannot name for a read at version `v`: all of them at
     * another version (a read whose snapshot is older or newer than the dictionary's, whichever number is
     * larger), which the look-up's version then settles (`learn`). The dictionary is left as it is until
     * then, for the reads at its own version.
     */
    unknown (v: number, ids: readonly number[]): number[] {
      // Past its size it starts again from nothing, here, before the read's ids are sorted out: emptied
      // later, it would lose ids this read was told it knew.
      if (known.size + ids.length > max) become(version)
      const out = new Set<number>()
      for (const id of ids) if (v !== version || !known.has(id)) out.add(id)
      return [...out]
    },

    /**
     * Learns the rows a look-up at version `found` gave for `ids` (an id without a row is a tag removed),
     * asked by a read at version `read`. Throws TagRefsMoved when the two differ: that read must be made again.
     */
    learn (read: number, found: number, ids: readonly number[], rows: readonly TagRefRow[]): void {
      if (found !== version) become(found)
      for (const id of ids) known.set(id, null)
      for (const r of rows) known.set(r.id, r.deleted === true || r.deleted === 1 || r.slug === null || r.name === null ? null : [r.slug, r.name])
      if (read !== found) throw new TagRefsMoved(`the tags moved from version ${read} to ${found} during a read`)
    },

    /**
     * An article's tags, from its tag ids in the editor's order, for a read at version `v`: the deleted and
     * removed ones left out. Throws TagRefsMoved when one is not known at `v` (another read, of another
     * version, emptied the dictionary since this one's look-up): the read is made again.
     */
    pairs (v: number, ids: readonly number[]): TagPairs {
      const out: (readonly [string, string])[] = []
      for (const id of ids) {
        const ref = v === version ? known.get(id) : undefined
        if (ref === undefined) throw new TagRefsMoved(`tag ${id} is not known at version ${v}`)
        if (ref !== null) out.push(ref)
      }
      return out
    }
  }
}

export type TagRefs = ReturnType<typeof tagRefs>

/** Runs a read that names tags from the dictionary again while the tags move under it (TagRefsMoved); a few tries, then the error. */
export function withSettledTags<T> (read: () => T, tries = 5): T {
  for (let i = 1; ; i++) {
    try {
      return read()
    } catch (err) {
      if (!(err instanceof TagRefsMoved) || i >= tries) throw err
    }
  }
}

/** As withSettledTags, for an asynchronous read (PostgreSQL). */
export async function withSettledTagsAsync<T> (read: () => Promise<T>, tries = 5): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await read()
    } catch (err) {
      if (!(err instanceof TagRefsMoved) || i >= tries) throw err
    }
  }
}

/** The version of the tags, read in a statement that reads tag ids (migrations/0018_tag_refs_version.sql). */
export const TAG_REFS_VERSION_SQL = '(SELECT version FROM tag_refs_version WHERE id = 1)'

const dictionaries = new WeakMap<object, TagRefs>()

/** The one dictionary of this database's tags in this process (`key`: its connection). */
export function tagRefsOf (key: object): TagRefs {
  let found = dictionaries.get(key)
  if (found === undefined) dictionaries.set(key, found = tagRefs())
  return found
}

type LookupRow = [version: number, id: number, slug: string | null, name: string | null, deleted: number | null]

/**
 * On SQLite: names the tags of articles read at a version, each given as its tag ids in the editor's order,
 * looking up (on the same connection, so in the caller's transaction if it has one) the ids the
 * dictionary lacks. Throws TagRefsMoved when the version moved between the read and the look-up.
 */
export function namedTags (sqlite: Database.Database): (version: number, lists: readonly (readonly number[])[]) => TagPairs[] {
  const refs = tagRefsOf(sqlite)
  const lookup = sqlite.prepare<[string], LookupRow>(`SELECT ${TAG_REFS_VERSION_SQL} AS version, j.value AS id, t.slug, t.name, t.deleted_at IS NOT NULL AS deleted
    FROM json_each(?) j LEFT JOIN tags t ON t.id = j.value`).raw()
  return (version, lists) => {
    const unknown = refs.unknown(version, lists.flat())
    if (unknown.length > 0) {
      const rows = lookup.all(JSON.stringify(unknown))
      refs.learn(version, rows[0]![0], unknown, rows.map(([, id, slug, name, deleted]) => ({ id, slug, name, deleted })))
    }
    return lists.map((ids) => refs.pairs(version, ids))
  }
}
