// Article rules that are not SQL: slugs, publication, Markdown, what counts as a change.
import { Conflict, retryStale, StaleRead } from '../http/errors.js'
import { fromIso } from '../http/time.js'
import { renderArticleMarkdown } from '../lib/markdown.js'
import { MAX_SLUG, toSlug } from '../lib/slug.js'
import { imageColumns, imageOf, SlugTaken, type ArticleRepository, type ArticleRow, type ArticleWrite, type WriteMeta } from './repository.js'
import type { Article, CreateArticleInput, UpdateArticleInput } from './schemas.js'

/** Author names trimmed, duplicates merged (the first stays). The schema has refused blank ones. */
const clean = (names: string[]): string[] => [...new Set(names.map((n) => n.trim()))]

export function articleService (repo: ArticleRepository, now: () => number) {
  /** The title's slug, or with -2, -3… when taken. */
  async function deriveSlug (title: string, exceptId?: number): Promise<string> {
    const base = toSlug(title) || 'article'
    if (!await repo.slugTaken(base, exceptId)) return base
    for (let n = 2; ; n++) {
      const suffix = `-${n}`
      const candidate = `${toSlug(base, MAX_SLUG - suffix.length) || 'article'}${suffix}`
      if (!await repo.slugTaken(candidate, exceptId)) return candidate
    }
  }

  async function claimSlug (slug: string, exceptId?: number): Promise<string> {
    if (await repo.slugTaken(slug, exceptId)) throw new Conflict(`The slug "${slug}" is taken by another article.`)
    return slug
  }

  /** Published with no date means "now"; a future date schedules it. */
  function publication (status: ArticleWrite['status'], publishedAt: number | null, at: number): number | null {
    return status === 'published' && publishedAt === null ? at : publishedAt
  }

  return {
    async create (input: CreateArticleInput, meta: WriteMeta): Promise<Article> {
      const at = now()
      const status = input.status ?? 'draft'
      const body = input.body ?? ''
      const write: ArticleWrite = {
        slug: input.slug !== undefined ? await claimSlug(input.slug) : '',
        title: input.title,
        summary: input.summary ?? null,
        body,
        bodyHtml: renderArticleMarkdown(body),
        section: input.section ?? null,
        dateline: input.dateline ?? null,
        source: input.source ?? null,
        authors: clean(input.authors ?? []),
        status,
        publishedAt: publication(status, input.publishedAt ? fromIso(input.publishedAt) : null, at),
        commentsOpen: input.commentsOpen ?? true,
        ...imageColumns(input.image ?? null),
        canonicalUrl: input.canonicalUrl ?? null
      }
      if (input.slug !== undefined) return repo.create(write, input.tags ?? [], at, meta)
      // A derived slug that another request takes between the check and the insert is derived again.
      return retryStale(async () => {
        const slug = await deriveSlug(input.title)
        try {
          return await repo.create({ ...write, slug }, input.tags ?? [], at, meta)
        } catch (err) {
          throw err instanceof SlugTaken ? new StaleRead() : err
        }
      })
    },

    /**
     * Merges the patch into `current`; returns the article unchanged (same revision) when the patch changes
     * nothing. `unchanged` guards the write (see writeIfMatch in src/http/conditional.ts).
     */
    async update (current: ArticleRow, patch: UpdateArticleInput, unchanged: (fresh: ArticleRow) => boolean, meta: WriteMeta): Promise<Article> {
      const at = now()
      const status = patch.status ?? current.status
      const publishedAt = patch.publishedAt === undefined
        ? current.publishedAt
        : patch.publishedAt === null ? null : fromIso(patch.publishedAt)
      const body = patch.body ?? current.body
      const write: ArticleWrite = {
        slug: patch.slug !== undefined && patch.slug !== current.slug ? await claimSlug(patch.slug, current.id) : current.slug,
        title: patch.title ?? current.title,
        summary: patch.summary === undefined ? current.summary : patch.summary,
        body,
        bodyHtml: body === current.body ? current.bodyHtml : renderArticleMarkdown(body),
        section: patch.section === undefined ? current.section : patch.section,
        dateline: patch.dateline === undefined ? current.dateline : patch.dateline,
        source: patch.source === undefined ? current.source : patch.source,
        authors: patch.authors === undefined ? JSON.parse(current.authors) as string[] : clean(patch.authors),
        status,
        publishedAt: publication(status, publishedAt, at),
        commentsOpen: patch.commentsOpen ?? current.commentsOpen,
        // An image in a patch replaces the whole image (caption and credit left out are cleared).
        ...imageColumns(patch.image === undefined ? imageOf(current) : patch.image),
        canonicalUrl: patch.canonicalUrl === undefined ? current.canonicalUrl : patch.canonicalUrl
      }
      const currentTags = await repo.tagSlugs(current.id)
      const tagsChanged = patch.tags !== undefined &&
        JSON.stringify(await repo.resolveTagSlugs(patch.tags)) !== JSON.stringify(currentTags)
      const fieldsChanged = (Object.keys(write) as (keyof ArticleWrite)[]).some((k) =>
        k === 'authors' ? JSON.stringify(write.authors) !== current.authors : write[k] !== current[k])
      if (!fieldsChanged && !tagsChanged) return repo.toArticle(current)
      return repo.update(current, write, tagsChanged ? patch.tags : undefined, at, unchanged, meta)
    }
  }
}

export type ArticleService = ReturnType<typeof articleService>
