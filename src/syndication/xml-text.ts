// Text on its way into XML. Any string can reach a feed or a sitemap (titles, bodies, names are what
// editors and readers typed), but XML 1.0 cannot carry every character: control characters other than
// tab, line feed and carriage return, lone surrogates, U+FFFE and U+FFFF make a document that no parser
// accepts, even escaped. They are dropped; every other character is kept and escaped by the writer.

// Everything outside XML 1.0's Char production (https://www.w3.org/TR/xml/#charsets).
const ALL_NOT_XML = /[^\t\n\r\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu
// A quick first look (any control character or surrogate, U+FFFE, U+FFFF): most text has none of them,
// and a surrogate pair is legal, so only text this finds goes through the exact expression above.
// eslint-disable-next-line no-control-regex
const MAYBE_NOT_XML = /[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]/

/** The text without the characters XML 1.0 cannot carry. */
export const xmlText = (text: string): string => MAYBE_NOT_XML.test(text) ? text.replace(ALL_NOT_XML, '') : text

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' }
const SPECIAL = /[&<>"']/
const SPECIALS = /[&<>"']/g

/** Text escaped for XML character data or a quoted attribute value, illegal characters dropped. */
export function escapeXml (text: string): string {
  const clean = xmlText(text)
  return SPECIAL.test(clean) ? clean.replace(SPECIALS, (c) => ESCAPES[c]!) : clean
}

const IMAGE_TYPES: Record<string, string> = {
  jpg: 'image/jpeg', jpeg: 'image/jpeg', png: 'image/png', gif: 'image/gif', webp: 'image/webp', avif: 'image/avif', svg: 'image/svg+xml'
}

/** The media type an image URL's file extension names, or undefined when it names none. */
export function imageType (url: string): string | undefined {
  const path = new URL(url).pathname
  const ext = /\.([a-z0-9]+)$/i.exec(path)?.[1]?.toLowerCase()
  return ext === undefined ? undefined : IMAGE_TYPES[ext]
}
