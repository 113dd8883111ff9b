// Swagger UI can try the feeds and sitemaps: in a real headless browser (Debian's chromium), "Try it out"
// on the Atom feed and on a sitemap page gets the XML and shows it.
import { existsSync } from 'node:fs'
import t from 'tap'
import { chromium, type Browser } from 'playwright-core'
import { build, createArticle } from '../helper.js'

const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'

t.test('feeds and sitemaps from Swagger UI', { skip: existsSync(executablePath) ? false : `no browser at ${executablePath} (.ci/run installs Debian's chromium)` }, async (t) => {
  const a = await build(t)
  await createArticle(a, { title: 'Read in a feed reader', status: 'published' })
  const address = await a.app.listen({ host: '127.0.0.1', port: 0 })
  const browser: Browser = await chromium.launch({
    executablePath,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync']
  })
  t.teardown(() => browser.close())
  const page = await browser.newPage()
  const errors: string[] = []
  page.on('pageerror', (error) => errors.push(error.message))
  await page.goto(`${address}/docs`, { waitUntil: 'networkidle' })
  await page.waitForSelector('.opblock', { timeout: 15_000 })

  for (const [id, path, pattern] of [
    ['#operations-feeds-getAtomFeed', '/feeds/atom', /Read in a feed reader/],
    ['#operations-sitemaps-getArticleSitemap', '/sitemaps/articles-1.xml', /read-in-a-feed-reader/]
  ] as const) {
    const op = page.locator(id)
    t.ok(await op.count(), `${path} is listed`)
    await op.locator('.opblock-summary').click()
    await op.locator('button.try-out__btn').click()
    const responded = page.waitForResponse((r) => r.url().startsWith(`${address}${path}`))
    await op.locator('button.execute').click()
    const response = await responded
    t.equal(response.status(), 200, `${path}: 200`)
    t.match(response.headers()['content-type'], /xml/)
    await op.locator('.live-responses-table .response-col_status').first().waitFor()
    t.match(await op.locator('.live-responses-table .microlight').first().textContent(), pattern, `${path}: Swagger UI shows the XML`)
  }
  t.same(errors, [])
})
