// XML checks for the feed and sitemap tests, by tools independent of the code under test: libxml2's
// xmllint (Debian's libxml2-utils, which .ci/run installs) parses, validates against XSDs and answers
// XPath queries.
import { execFileSync, spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'

export const xmllint = spawnSync('xmllint', ['--version']).status === 0 ? 'xmllint' : undefined
/** Why XML tests are skipped, or false when they run. */
export const skipWithoutXmllint = xmllint === undefined ? 'no xmllint (Debian libxml2-utils; .ci/run installs it)' : false

function run (args: string[], xml: string): { status: number | null, out: string } {
  const result = spawnSync('xmllint', [...args, '-'], { input: xml, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 })
  return { status: result.status, out: `${result.stdout}${result.stderr}` }
}

/** Undefined when the document is well-formed XML, else xmllint's complaint. */
export function notWellFormed (xml: string): string | undefined {
  const r = run(['--noout', '--nonet'], xml)
  return r.status === 0 ? undefined : r.out
}

/** Schemas beside the sitemap tests: sitemaps.org's own (from the `sitemap` package) and ours. */
export const xsd = {
  urlset: fileURLToPath(new URL('../node_modules/sitemap/schema/sitemap.xsd', import.meta.url)),
  siteindex: fileURLToPath(new URL('./sitemaps/xsd/siteindex.xsd', import.meta.url)),
  news: fileURLToPath(new URL('./sitemaps/xsd/news-urlset.xsd', import.meta.url))
}

/** Undefined when the document is valid against the schema, else xmllint's errors. */
export function invalidAgainst (xml: string, schema: string): string | undefined {
  const r = run(['--noout', '--nonet', '--schema', schema], xml)
  return r.status === 0 ? undefined : r.out
}

const SEPARATOR = '\u241e'

/**
 * The string values of XPath expressions, in one run of xmllint (use local-name() for namespaced
 * elements; RSS's own elements have no namespace).
 */
export function xpaths (xml: string, expressions: string[]): string[] {
  const joined = `concat(${expressions.map((e) => `string(${e})`).join(`, '${SEPARATOR}', `)}, '')`
  const out = execFileSync('xmllint', ['--nonet', '--xpath', joined, '-'], { input: xml, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 })
  return out.replace(/\n$/, '').split(SEPARATOR)
}

/** The string value of one XPath expression. */
export const xpath = (xml: string, expression: string): string => xpaths(xml, [expression])[0]!

/** How many nodes each expression selects, in one run of xmllint. */
export const counts = (xml: string, expressions: string[]): number[] => xpaths(xml, expressions.map((e) => `count(${e})`)).map(Number)

/** The number of nodes an XPath expression selects. */
export const count = (xml: string, expression: string): number => counts(xml, [expression])[0]!

/** An element path that ignores namespaces: el('feed', 'entry') → /*[local-name()='feed']/*[local-name()='entry']. */
export const el = (...names: string[]): string => names.map((n) => `/*[local-name()='${n}']`).join('')
