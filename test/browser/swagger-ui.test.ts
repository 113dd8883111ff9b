// Swagger UI at /docs in a real headless browser (Debian's chromium driven by playwright-core): it loads
// without console errors, lists the operations, and "Try it out" really calls the API.
import { existsSync } from 'node:fs'
import t from 'tap'
import { chromium, type Browser, type Page } from 'playwright-core'
import { build, createArticle } from '../helper.js'

const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'

t.test('Swagger UI works in a browser', { skip: existsSync(executablePath) ? false : `no browser at ${executablePath} (.ci/run installs Debian's chromium)` }, async (t) => {
  const a = await build(t, { seedDemo: false })
  await createArticle(a, { title: 'Seen from Swagger UI', status: 'published' })
  const address = await a.app.listen({ host: '127.0.0.1', port: 0 })

  const browser: Browser = await chromium.launch({
    executablePath,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync']
  })
  t.teardown(() => browser.close())
  const page: Page = await browser.newPage()
  const consoleErrors: string[] = []
  page.on('console', (message) => { if (message.type() === 'error') consoleErrors.push(message.text()) })
  page.on('pageerror', (error) => consoleErrors.push(error.message))

  await page.goto(`${address}/docs`, { waitUntil: 'networkidle' })
  await page.waitForSelector('.opblock', { timeout: 15_000 })
  const operations = await page.locator('.opblock-summary-path').allTextContents()
  t.ok(operations.some((p) => p.includes('/v1/articles')), 'operations are listed')
  t.ok(await page.locator('#operations-articles-listArticles').count(), 'listArticles is there')

  // Try it out: GET /v1/articles.
  const list = page.locator('#operations-articles-listArticles')
  await list.locator('.opblock-summary').click()
  await list.locator('button.try-out__btn').click()
  const responsePromise = page.waitForResponse((r) => r.url().includes('/v1/articles') && r.request().method() === 'GET')
  await list.locator('button.execute').click()
  const response = await responsePromise
  t.equal(response.status(), 200, 'the request Swagger UI sent got a 200')
  t.notMatch(response.url(), /published(After|Before)=|[?&]q=/, 'no filter is pre-filled from an example')
  await list.locator('.live-responses-table tbody .response-col_status').first().waitFor()
  const shownStatus = (await list.locator('.live-responses-table tbody .response-col_status').first().textContent())?.trim()
  t.equal(shownStatus, '200', 'Swagger UI shows the status')
  t.match(await list.locator('.live-responses-table .microlight').first().textContent(), /seen-from-swagger-ui/)

  // Try it out: POST a comment on that article, as a reader would.
  const post = page.locator('#operations-comments-createComment')
  await post.locator('.opblock-summary').click()
  await post.locator('button.try-out__btn').click()
  await post.locator('input[placeholder="slug"]').fill('seen-from-swagger-ui')
  await post.locator('textarea.body-param__text').fill(JSON.stringify({ authorName: 'Browser', authorEmail: 'browser@example.org', body: 'Posted from Swagger UI.' }))
  const postedPromise = page.waitForResponse((r) => r.url().endsWith('/v1/articles/seen-from-swagger-ui/comments') && r.request().method() === 'POST')
  await post.locator('button.execute').click()
  const posted = await postedPromise
  t.equal(posted.status(), 201, 'posting a comment from Swagger UI is a 201')
  const stored = await a.as('moderator', { method: 'GET', url: '/v1/comments?status=any' })
  t.match(stored.json().data, [{ authorName: 'Browser', body: 'Posted from Swagger UI.' }], 'and the comment is stored')

  t.same(consoleErrors, [], 'no console errors')
})
