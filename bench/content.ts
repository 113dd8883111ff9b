// Deterministic, newsroom-like text for the generator: a seeded random source, word lists, and
// Markdown bodies (headings, paragraphs, lists, links) of a chosen size.

/** mulberry32: small, fast, good enough for test data, and the same sequence for the same seed. */
export function seededRandom (seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6D2B79F5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

export type Rng = () => number
export const pick = <T>(rng: Rng, list: readonly T[]): T => list[Math.floor(rng() * list.length)] as T
export const between = (rng: Rng, min: number, max: number): number => min + Math.floor(rng() * (max - min + 1))

export const words = [
  'harbour', 'council', 'budget', 'election', 'minister', 'strike', 'railway', 'festival', 'drought', 'vaccine',
  'parliament', 'court', 'ruling', 'merger', 'airport', 'bridge', 'coastline', 'tariff', 'summit', 'treaty',
  'glacier', 'wildfire', 'museum', 'orchestra', 'stadium', 'league', 'market', 'inflation', 'pension', 'school',
  'hospital', 'nurses', 'farmers', 'harvest', 'fishery', 'pipeline', 'reactor', 'satellite', 'launch', 'border',
  'refugees', 'ceasefire', 'protest', 'mayor', 'senate', 'inquiry', 'scandal', 'verdict', 'appeal', 'startup',
  'factory', 'exports', 'currency', 'housing', 'tenants', 'landlords', 'river', 'flooding', 'storm', 'forecast',
  'heatwave', 'library', 'archive', 'novel', 'poet', 'painter', 'gallery', 'cinema', 'premiere', 'champion',
  'marathon', 'cyclist', 'referee', 'transfer', 'coach', 'union', 'wages', 'ferry', 'tunnel', 'highway',
  'census', 'budgetary', 'subsidy', 'quarry', 'vineyard', 'bakery', 'workshop', 'laboratory', 'telescope', 'comet'
]
const connectives = ['the', 'a', 'of', 'in', 'on', 'after', 'before', 'with', 'and', 'as', 'for', 'near', 'over', 'under', 'despite']
const verbs = ['opens', 'closes', 'approves', 'rejects', 'delays', 'announces', 'questions', 'wins', 'loses', 'returns', 'expands', 'cuts']

export const sections = ['World', 'Politics', 'Business', 'Economy', 'Science', 'Health', 'Culture', 'Sport', 'Technology', 'Environment', 'Local', 'Opinion']
export const datelines = ['VLADIVOSTOK', 'LISBON', 'NAIROBI', 'OSAKA', 'QUITO', 'OSLO', 'DAKAR', 'HOBART', 'TALLINN', 'MONTREAL', null]
export const sources = ['Staff reporter', 'Wire service', 'Correspondent', null]

const firstNames = ['Anna', 'Boris', 'Chiara', 'Dmitri', 'Elif', 'Farid', 'Grace', 'Hiro', 'Ines', 'Jonas', 'Kemi', 'Lars', 'Maya', 'Nikos', 'Olga', 'Pablo', 'Quinn', 'Rosa', 'Sven', 'Tara']
const lastNames = ['Petrova', 'Okafor', 'Rossi', 'Tanaka', 'Yilmaz', 'Haddad', 'Lindqvist', 'Moreau', 'Silva', 'Novak']
/** 200 distinct bylines. */
export const authorNames = firstNames.flatMap((f) => lastNames.map((l) => `${f} ${l}`))

const tagQualifiers = ['', 'Local', 'Global', 'Rural', 'Urban']
/** A few hundred tag names: "Harbour", "Local Harbour", "Global Harbour"… */
export const tagNames = tagQualifiers.flatMap((q) => words.slice(0, 60).map((w) => `${q} ${w[0]!.toUpperCase()}${w.slice(1)}`.trim()))

export function sentence (rng: Rng, n = between(rng, 8, 18)): string {
  const out: string[] = []
  for (let i = 0; i < n; i++) out.push(rng() < 0.3 ? pick(rng, connectives) : rng() < 0.15 ? pick(rng, verbs) : pick(rng, words))
  const s = out.join(' ')
  return `${s[0]!.toUpperCase()}${s.slice(1)}.`
}

const syllables = ['ka', 'lo', 'vi', 'tra', 'mer', 'sun', 'do', 'rel', 'an', 'bo', 'qui', 'zan', 'pe', 'hol', 'ru', 'sta', 'ne', 'gor', 'fi', 'lem']
/** 2,000 invented place names ("Kavitra", "Lomerdo"…): rare words that make searches selective, as real ones are. */
export const placeNames = Array.from({ length: 2000 }, (_, i) => {
  const name = [i % 20, Math.floor(i / 20) % 20, (Math.floor(i / 400) + i) % 20].map((k) => syllables[k]).join('')
  return `${name[0]!.toUpperCase()}${name.slice(1)}`
})
/** Zipf-like: a few places are in the news often, most rarely. */
export const place = (rng: Rng): string => placeNames[Math.floor(placeNames.length * rng() ** 3)]!
/** The bench's search term: a place in roughly 0.8% of the articles. */
export const searchTerm = placeNames[5]!

/** A headline with a place, e.g. "Council approves bridge near harbour in Kavitra". */
export function title (rng: Rng, where = place(rng)): string {
  const s = `${pick(rng, words)} ${pick(rng, verbs)} ${pick(rng, words)} ${pick(rng, connectives)} ${pick(rng, words)} in ${where}`
  return `${s[0]!.toUpperCase()}${s.slice(1)}`
}

function block (rng: Rng): string {
  const kind = rng()
  if (kind < 0.12) return `## ${sentence(rng, between(rng, 3, 7)).slice(0, -1)}`
  if (kind < 0.25) return Array.from({ length: between(rng, 3, 6) }, () => `- ${sentence(rng, between(rng, 4, 10))}`).join('\n')
  if (kind < 0.32) return `> ${sentence(rng)}`
  const sentences = Array.from({ length: between(rng, 3, 6) }, () => sentence(rng))
  if (rng() < 0.5) {
    const w = pick(rng, words)
    sentences.push(`Read more in [our ${w} coverage](https://example.com/${w}/${between(rng, 1, 9999)}) and **${pick(rng, words)}** updates.`)
  }
  return sentences.join(' ')
}

/** A Markdown article body of at least `minBytes`: sections with headings, paragraphs, lists and links. */
export function articleBody (rng: Rng, minBytes: number): string {
  const parts: string[] = []
  for (let size = 0; size < minBytes;) {
    const part = block(rng)
    parts.push(part)
    size += part.length + 2
  }
  return parts.join('\n\n') + '\n'
}

export function commentBody (rng: Rng): string {
  const n = between(rng, 1, 3)
  const paragraphs = Array.from({ length: n }, () => Array.from({ length: between(rng, 1, 3) }, () => sentence(rng)).join(' '))
  if (rng() < 0.1) paragraphs.push(`See https://example.org/${pick(rng, words)}`)
  return paragraphs.join('\n\n')
}
