// What a fresh assembly of an article or a list page answers, computed independently of src/articles/stored.ts:
// for tests that compare the stored representations' and summaries' answers with it.
import { createHash } from 'node:crypto'
import { isPublicAt } from '../../src/articles/visibility.js'
import type { TestApp } from '../helper.js'

function sha (text: string): string {
  return createHash('sha256').update(text).digest('base64url').slice(0, 27)
}

/**
 * What a fresh assembly answers for the article at `slug` (editor's view): its row mapped by toArticle and
 * serialised by JSON.stringify (not the serialiser the stored form was made with), and the ETag the API
 * defines for it: sha256 over (sha256 of the JSON without the tags' contents and the count's digits, the
 * count, the tags' JSON).
 */
export async function freshArticle (a: TestApp, slug: string): Promise<{ payload: string, etag: string, visibleAt: (at: number) => boolean, id: number } | undefined> {
  const row = await a.app.articles.findRowBySlug(slug, null)
  if (row === undefined) return undefined
  const article = a.app.articles.toArticle(row)
  const payload = JSON.stringify(article)
  const tags = JSON.stringify(article.tags).slice(1, -1)
  const count = String(article.commentCount)
  const tagsPart = `"tags":[${tags}],"status":`
  const countPart = `,"commentCount":${count},"revision":`
  if (!payload.includes(tagsPart) || !payload.includes(countPart)) throw new Error(`the reference cannot find the tags and the count in ${payload}`)
  const cut = payload.replace(tagsPart, '"tags":[],"status":').replace(countPart, ',"commentCount":,"revision":')
  return { payload, etag: `"${sha(`${sha(cut)}${count}:${tags}`)}"`, visibleAt: (at) => isPublicAt(row, at), id: row.id }
}

/**
 * The list page `body` (an answer of GET /v1/articles) as a fresh assembly would answer it: each listed
 * article's row mapped by toArticle without its body, serialised by JSON.stringify with the page's snippet
 * (not by the stored summaries' splice, src/articles/stored.ts).
 */
export async function freshList (a: TestApp, body: string): Promise<string> {
  const page = JSON.parse(body) as { data: Array<{ slug: string, snippet?: string }>, page: unknown }
  const data = []
  for (const item of page.data) {
    const { body: _body, bodyHtml: _html, ...summary } = a.app.articles.toArticle((await a.app.articles.findRowBySlug(item.slug, null))!)
    data.push(item.snippet === undefined ? summary : { ...summary, snippet: item.snippet })
  }
  return JSON.stringify({ data, page: page.page })
}
