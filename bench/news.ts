// The Google News sitemap lists the last 48 hours, and a generated archive ends in the past: before a run,
// a newsroom's two days of articles are published through the API (with publishedAt spread over the last
// 47 hours, tags, an author and a lead image), so the news sitemap and the feeds measure real content.
// Done only when the window holds fewer than `count`; these are writes to the database being measured,
// like the write scenarios' own.
import Database from 'better-sqlite3'
import { articleBody, authorNames, between, pick, sections, seededRandom, tagNames, title } from './content.js'

const HOUR = 3_600_000

/** How many articles the news window holds at `now`. */
function inWindow (dbPath: string, now: number): number {
  const db = new Database(dbPath, { readonly: true, fileMustExist: true })
  try {
    return db.prepare("SELECT count(*) FROM articles WHERE status = 'published' AND published_at > ? AND published_at <= ?")
      .pluck().get(now - 48 * HOUR, now) as number
  } finally {
    db.close()
  }
}

/** Publishes articles until the last 48 hours hold `count`; returns how many it published. */
export async function publishRecent (base: string, adminToken: string, dbPath: string, count: number): Promise<number> {
  const now = Date.now()
  const missing = count - inWindow(dbPath, now)
  if (missing <= 0) return 0
  const rng = seededRandom(48)
  const bodies = Array.from({ length: 10 }, () => articleBody(rng, between(rng, 2048, 7600)))
  let next = 0
  const worker = async (): Promise<void> => {
    for (let i = next++; i < missing; i = next++) {
      const body = JSON.stringify({
        title: title(rng),
        summary: title(rng),
        body: bodies[i % bodies.length],
        section: pick(rng, sections),
        authors: [pick(rng, authorNames)],
        tags: [pick(rng, tagNames), pick(rng, tagNames)],
        status: 'published',
        publishedAt: new Date(now - 47 * HOUR + (i / missing) * 46 * HOUR).toISOString(),
        image: { url: `https://images.news.example/bench/${i}.jpg`, alt: 'A photograph', credit: 'Photo: Bench' }
      })
      const post = async () => await fetch(`${base}/v1/articles`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${adminToken}` },
        body
      })
      let res = await post()
      // On a loaded machine a write can outrun the query budget (503, "retry in a moment"): as a client would.
      for (let tries = 1; res.status === 503 && tries < 10; tries++) {
        await new Promise((resolve) => setTimeout(resolve, 200 * tries))
        res = await post()
      }
      if (res.status !== 201) throw new Error(`publishing a recent article answered ${res.status}: ${(await res.text()).slice(0, 300)}`)
    }
  }
  await Promise.all(Array.from({ length: 8 }, worker))
  return missing
}
