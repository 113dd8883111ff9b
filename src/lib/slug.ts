import slugify from '@sindresorhus/slugify'

export const MAX_SLUG = 80

/**
 * The URL slug for a title or a tag name: lowercase ASCII words joined by `-`, accents folded and other
 * scripts transliterated ("Владивосток" → "vladivostok"), at most `max` characters, cut at a word
 * boundary where there is one. An empty string when nothing in the text can be written in ASCII.
 */
export function toSlug (text: string, max = MAX_SLUG): string {
  const slug = slugify(text, { decamelize: false })
  if (slug.length <= max) return slug
  const cut = slug.slice(0, max + 1)
  const boundary = cut.lastIndexOf('-')
  return (boundary > 0 ? cut.slice(0, boundary) : slug.slice(0, max)).replace(/-+$/, '')
}
