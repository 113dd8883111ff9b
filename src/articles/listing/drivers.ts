// What drives a page of the article list: a walk along the date index (the default), a rare or small tag's
// or author's article ids, or a search's few matches; and where a statement's rows come from accordingly.
import { sql, type Subquery } from 'drizzle-orm'
import type { Db } from '../../db/connection.js'
import { articles } from '../../db/schema.js'
import { RANK_LIMIT } from '../search-index.js'
import type { MemberSql, Membership } from './filters.js'

/** A tag or author with fewer articles than this drives the query from its own article ids. */
export const RARE_MEMBERSHIP = 1000
/**
 * A search sorted by date with at most this many matches hands them as a list to the walk along the date
 * index, or drives the page from them when they are very few; more are checked per row along the date index.
 * (`matches` is known up to RANK_LIMIT.)
 */
export const LISTED_MATCHES = RANK_LIMIT
/**
 * What driving a page from one match costs (a seek in the narrow index, then a place in the sort) in steps
 * of a walk along the date index that checks each article against the list of matches (measured:
 * bench/README.md#drive-to-walk).
 */
const DRIVE_TO_WALK = 25
/** Covers the filters a ranked search applies to each match (migrations/0004_search_visibility.sql). */
export const VISIBILITY_INDEX = 'articles_visibility_idx'

export interface Drivers {
  /** The tag or author with the fewest articles. */
  smallest: Membership | undefined
  /** A search sorted by date drives the page from its matches. */
  bySearch: boolean
  /** The smallest tag or author drives the page from its ids, sorted through the narrow index. */
  byIds: boolean
  /** The membership whose ids drive the page (by ids, or a rare one sorting whole rows). */
  driver: Membership | undefined
}

/**
 * Whether chooseDrivers weighs the number of articles: only a page by date with tags or authors, or a
 * search sorted by date (`matches`). The front page and a ranked page do not need it read.
 */
export const weighsEverything = (members: Membership[], relevance: boolean, matches: number | undefined): boolean =>
  !relevance && (members.length > 0 || matches !== undefined)

/** The tag or author with the fewest articles (the first of them on a tie), if any. */
export const smallestOf = (members: Membership[]): Membership | undefined => members.slice().sort((a, b) => a.size - b.size)[0]

/**
 * The driver of a page of `limit`, among `members`, of `everything` articles (read when weighsEverything
 * says so, else undefined); `matches` when a search sorted by date; `nullable` when the sort column may be
 * NULL (then only a rare membership drives).
 */
export function chooseDrivers (limit: number, members: Membership[], everything: number | undefined, relevance: boolean,
  matches: number | undefined, nullable: boolean): Drivers {
  const smallest = smallestOf(members)
  // A ranked page ranks its matches; one with neither members nor a search walks the date index: nothing to weigh.
  if (!weighsEverything(members, relevance, matches)) return { smallest, bySearch: false, byIds: false, driver: undefined }
  if (everything === undefined) throw new Error('chooseDrivers weighs the number of articles, and was not given it')
  // The tag or author with the fewest articles drives the page from its own article ids instead of a walk
  // along the date index, when that walk would be longer: to find limit + 1 articles it passes about
  // (limit + 1) × articles ÷ matches of them, the matches estimated as if tags and authors were independent
  // (one tag on 9,000 of a million articles: 2,300 steps; two such tags together: 230,000). Driven, the ids
  // are sorted by date through the narrow index (id, status, published_at, section, updated_at), and only
  // the page's rows are read. Editors' lists by publication date (drafts have none) drive only from a rare
  // one, sorting whole rows. (A public page by publication date with a tag, unless an author is smaller,
  // never comes here: the tag's own range in article_tags_public_idx drives it, ./index.ts, publicTagPage.)
  const estimate = members.reduce((n, m) => n * m.size / everything, everything)
  const walk = (limit + 1) * everything / Math.max(estimate, 1)
  // A search sorted by date drives the page from its matches when that costs less than the walk along the
  // date index to the page's limit + 1 of them (m matches: m drives against (limit + 1) × articles ÷ m
  // steps), unless a tag or author has fewer articles. A word in no article costs nothing then, instead of
  // a whole walk.
  const bySearch = !relevance && matches !== undefined && !nullable && matches <= LISTED_MATCHES &&
    matches * matches * DRIVE_TO_WALK < (limit + 1) * everything &&
    (smallest === undefined || matches <= smallest.size)
  const byIds = !relevance && !bySearch && smallest !== undefined && !nullable && walk > smallest.size
  const rare = !relevance && !bySearch && !byIds && smallest !== undefined && smallest.size < RARE_MEMBERSHIP ? smallest : undefined
  return { smallest, bySearch, byIds, driver: byIds ? smallest : rare }
}

/** A subquery of candidate ids (a search's matches) that a statement may start from. */
export type Candidates = Subquery

/**
 * Where a statement's rows come from: the candidates (the join condition, articles.id = candidates.id, is
 * in the caller's WHERE), else the driving membership's ids (joined to the narrow index when `ids`, to the
 * rows otherwise), else the articles.
 */
export function sourceOf (db: Db, driver: MemberSql | undefined, byIds: boolean) {
  const narrow = sql`${articles} INDEXED BY ${sql.identifier(VISIBILITY_INDEX)}`
  return <S extends Record<string, unknown>>(selection: S, candidates?: Candidates, by: MemberSql | undefined = driver, ids = byIds) => {
    const base = db.select(selection as never)
    if (candidates !== undefined) return base.from(candidates).crossJoin(narrow).$dynamic()
    if (by !== undefined) return base.from(by.drive.table).crossJoin(ids ? narrow : articles).$dynamic()
    return base.from(articles).$dynamic()
  }
}
export type Source = ReturnType<typeof sourceOf>
