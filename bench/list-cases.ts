// Every shape of article-list query worth a plan: who asks (public or editor), each sort, each filter,
// first page and a later page (a cursor), and search. test/articles/query-plan.test.ts checks their plans;
// bench/query-plans.ts prints them into bench/query-plans.md.
import type { ArticleListParams } from '../src/articles/repository.js'
import { parseSearch } from '../src/articles/search.js'

export interface ListCase {
  name: string
  params: ArticleListParams
  /** Whether the plan may sort in a temporary B-tree (bounded by a rare tag/author or by the matches). */
  sorts: boolean
}

const DAY = 86_400_000

/** The cases for a database whose clock reads `now`; `rareTag`/`commonTag` are tag slugs, `author` a name. */
export function listCases (now: number, names: { rareTag: string, commonTag: string, rareAuthor: string, commonAuthor: string }): ListCase[] {
  const base: ArticleListParams = {
    limit: 20,
    after: undefined,
    visibility: { visibleAt: now },
    status: 'published',
    tags: [],
    section: undefined,
    author: undefined,
    publishedAfter: undefined,
    publishedBefore: undefined,
    search: undefined,
    sort: '-publishedAt',
    withTotal: false
  }
  const editor: Partial<ArticleListParams> = { visibility: null, status: undefined }
  const cursorFor = (sort: ArticleListParams['sort']) => sort === 'relevance' ? ['-1.5', 5000] : [now - 200 * DAY, 5000]
  const cases: ListCase[] = []
  const add = (name: string, over: Partial<ArticleListParams>, sorts = false) => {
    const params = { ...base, ...over }
    cases.push({ name: `${name}, first page`, params, sorts })
    cases.push({ name: `${name}, later page`, params: { ...params, after: cursorFor(params.sort) }, sorts })
  }
  for (const sort of ['-publishedAt', 'publishedAt', '-updatedAt'] as const) {
    add(`public, sort=${sort}`, { sort })
    add(`editor, every status, sort=${sort}`, { ...editor, sort })
    add(`editor, status=draft, sort=${sort}`, { ...editor, status: 'draft', sort })
    add(`public, section, sort=${sort}`, { section: 'Sport', sort })
  }
  add('public, include=total', { withTotal: true })
  add('editor, include=total', { ...editor, withTotal: true })
  add('public, publishedAfter+publishedBefore', { publishedAfter: now - 400 * DAY, publishedBefore: now - 100 * DAY })
  add('public, publishedAfter, sort=publishedAt', { publishedAfter: now - 400 * DAY, sort: 'publishedAt' })
  // A public page by date with a tag: the smallest tag's published rows drive it, in date order.
  add('public, common tag (its public rows drive the page)', { tags: [names.commonTag] })
  add('public, rare tag (its public rows drive the page)', { tags: [names.rareTag] })
  add('public, common and rare tag (the rare one\'s public rows drive the page)', { tags: [names.commonTag, names.rareTag] })
  add('public, rare tag, sort=-updatedAt (drives the query)', { tags: [names.rareTag], sort: '-updatedAt' }, true)
  add('public, common tag, sort=-updatedAt', { tags: [names.commonTag], sort: '-updatedAt' })
  add('public, common author', { author: names.commonAuthor })
  add('public, rare author (drives the query)', { author: names.rareAuthor }, true)
  add('public, common tag and rare author (the author drives the query)', { tags: [names.commonTag], author: names.rareAuthor }, true)
  add('public, search, sort=relevance', { search: parseSearch('harbour "pacific fleet" vladi*'), sort: 'relevance', withTotal: true }, true)
  // Few matches (a small archive): they drive the page and are sorted; many are walked in date order.
  add('public, search, sort=-publishedAt', { search: parseSearch('harbour'), sort: '-publishedAt' }, true)
  add('editor, search and tag, sort=relevance', { ...editor, search: parseSearch('harbour'), tags: [names.commonTag], sort: 'relevance' }, true)
  return cases
}
