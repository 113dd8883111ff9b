// When did the database last change, and what did the change touch? Two counters SQLite keeps for free,
// and a ledger of declared writes, for the public cache (src/plugins/public-cache.ts), which must drop
// its answers as soon as anything they read changed:
// - localChanges(): total_changes() of this connection, every row this process wrote (read before every
//   cache lookup: it costs a tenth of a microsecond and misses no code path);
// - dataVersion(): PRAGMA data_version, which moves when another connection (a second server on the same
//   file, a script) committed; reading it takes a lock, so callers poll it;
// - declared(): the writes made through declareWrite since the last call, each with the total_changes()
//   it began and ended at and the dependency keys it touched. The cache drops only those keys when the
//   declared writes account for every change since it last looked (their counters chain without a gap);
//   any change no declaration covers (a write that declared nothing) leaves a gap, and the cache empties.
//   So a forgotten declaration costs speed, never a stale answer.
// The seam for PostgreSQL (issue 16), where the same question needs another answer.
import type Database from 'better-sqlite3'
import type { Db } from './connection.js'

/** One declared write: total_changes() before and after it, and the keys of what it changed. */
export interface DeclaredWrite {
  before: number
  after: number
  keys: readonly string[]
}

export interface ChangeClock {
  localChanges: () => number
  dataVersion: () => number
  /** The declared writes since the last call, in commit order; null when more piled up than are kept (treat as undeclared). */
  declared: () => DeclaredWrite[] | null
}

/**
 * The key every feed and sitemap carries: their Last-Modified is public_changes.changed_at
 * (migrations/0006_public_changes.sql), which triggers move on writes no row of theirs shows. A declared
 * write that moved it touches this key as well, found out here rather than declared.
 */
export const PUBLIC_CLOCK_KEY = 'public-clock'

/** Declarations kept between two looks of the cache; beyond that they are dropped and the cache empties. */
const MAX_PENDING = 10_000

interface Ledger {
  totalChanges: Database.Statement<[], number>
  publicClock: Database.Statement<[], number | undefined>
  pending: DeclaredWrite[]
  overflow: boolean
  /** Keys of the declared writes under way (a declared write inside another adds to the outer one's). */
  frames: Set<string>[]
}

const ledgers = new WeakMap<Database.Database, Ledger>()

function ledgerOf (sqlite: Database.Database): Ledger {
  let ledger = ledgers.get(sqlite)
  if (ledger === undefined) {
    ledger = {
      totalChanges: sqlite.prepare<[], number>('SELECT total_changes()').pluck(),
      publicClock: sqlite.prepare<[], number | undefined>('SELECT changed_at FROM public_changes WHERE id = 1').pluck(),
      pending: [],
      overflow: false,
      frames: []
    }
    ledgers.set(sqlite, ledger)
  }
  return ledger
}

/**
 * Runs a synchronous write (a better-sqlite3 transaction) and declares what public answers it may have
 * changed: dependency keys (`article:12`, `comments:12`, `tag:world`, `list:articles`, `list:tags`; see
 * README.md "Behind a CDN"), given or computed from the write's result. Declare too much rather than
 * too little: a key too many drops a cached answer that was still good; a key too few serves a stale one.
 * A write that throws declares nothing (a rolled-back transaction changed nothing; anything else empties
 * the cache).
 */
export function declareWrite<T> (db: Pick<Db, '$client'>, keys: readonly string[] | ((result: T) => readonly string[]), write: () => T): T {
  const ledger = ledgerOf(db.$client)
  const frame = new Set<string>()
  const outer = ledger.frames.length === 0
  const before = outer ? ledger.totalChanges.get()! : 0
  const clockBefore = outer ? ledger.publicClock.get() : undefined
  ledger.frames.push(frame)
  let result: T
  try {
    result = write()
  } finally {
    ledger.frames.pop()
  }
  for (const key of typeof keys === 'function' ? keys(result) : keys) frame.add(key)
  if (!outer) {
    for (const key of frame) ledger.frames[ledger.frames.length - 1]!.add(key)
    return result
  }
  const after = ledger.totalChanges.get()!
  if (after === before) return result
  if (ledger.publicClock.get() !== clockBefore) frame.add(PUBLIC_CLOCK_KEY)
  if (ledger.pending.length >= MAX_PENDING) {
    ledger.overflow = true
    ledger.pending = []
  }
  ledger.pending.push({ before, after, keys: [...frame] })
  return result
}

export function changeClock (db: Db): ChangeClock {
  const ledger = ledgerOf(db.$client)
  const dataVersion = db.$client.prepare('PRAGMA data_version').pluck()
  return {
    localChanges: () => ledger.totalChanges.get()!,
    dataVersion: () => dataVersion.get() as number,
    declared: () => {
      if (ledger.overflow) {
        ledger.overflow = false
        ledger.pending = []
        return null
      }
      const out = ledger.pending
      if (out.length > 0) ledger.pending = []
      return out
    }
  }
}

/** The dependency keys, one place for their spelling (README.md "Behind a CDN"). */
export const dependencyKeys = {
  /** An article's own representation: its fields, its tags' names, its comment count. */
  article: (id: number) => `article:${id}`,
  /** An article's comments: its thread, each comment, its comments feed. */
  comments: (articleId: number) => `comments:${articleId}`,
  /** A tag's page and the articles that show it (by slug: a re-slug touches the old and the new). */
  tag: (slug: string) => `tag:${slug}`,
  /** Which articles are listed, in which order, with which totals: every article list, feed and sitemap. */
  articles: 'list:articles',
  /** Which tags are listed, with their counts: the tag list and every tag's page. */
  tags: 'list:tags',
  /** The time feeds and sitemaps show as Last-Modified (PUBLIC_CLOCK_KEY). */
  publicClock: PUBLIC_CLOCK_KEY,
  /**
   * No answer's key (none carries it, no Surrogate-Key shows it): every write that may change when an article
   * becomes visible (its status, its publishedAt: the article writes) declares it, and the public cache then
   * reads the next scheduled publication again. A comment's or a tag's write cannot move one, and does not.
   */
  schedule: 'schedule'
} as const

/**
 * What an article's write touches: itself, its thread (its visibility, its title in the comments feed),
 * and every list: which articles are listed and in which order, totals, and the tags' counts and
 * visibility (every tag page carries list:tags).
 */
export function articleWriteKeys (id: number): string[] {
  return [dependencyKeys.article(id), dependencyKeys.comments(id), dependencyKeys.articles, dependencyKeys.tags, dependencyKeys.schedule]
}

/** What a comment's write touches: its article (the comment count) and the article's comments. */
export function commentWriteKeys (articleId: number): string[] {
  return [dependencyKeys.article(articleId), dependencyKeys.comments(articleId)]
}

/**
 * What a tag's write touches: its page and the articles that show it (by each slug it had or has), the
 * tag list, and every article list (rows show tags' names; a list or feed by tag; tag writes are rare).
 */
export function tagWriteKeys (...slugs: string[]): string[] {
  return [...slugs.map(dependencyKeys.tag), dependencyKeys.tags, dependencyKeys.articles]
}
