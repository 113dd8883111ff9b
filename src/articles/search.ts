// What a reader types into the search box, reduced to terms the database can match safely. The user's
// text never reaches a query language: it becomes a list of words and phrases (each optionally a
// prefix) that the repository quotes for its engine. Everything else (operators, parentheses, colons,
// carets, a lone `*`, unbalanced quotes, control characters, emoji) is dropped, never interpreted.

export interface SearchTerm {
  /** A word, or the words of a phrase in order, separated by spaces. */
  text: string
  /** `word*` / `"some phr"*`: match words that start with the last word. */
  prefix: boolean
}

const MAX_TERMS = 32
// Only terms with a letter or a digit can match anything: the index splits text on everything else.
const SEARCHABLE = /[\p{L}\p{N}]/u
// Query-language operators when written in capitals; searched for as words they would only add noise.
const OPERATORS = new Set(['AND', 'OR', 'NOT', 'NEAR'])
// A phrase in balanced double quotes (with an optional prefix star), or a run of anything else.
const TOKEN = /"([^"]*)"(\*?)|([^\s"]+)/gu
// Characters that are syntax in search languages (grouping, columns, boosts, wildcards): word breaks.
const SYNTAX = /[()[\]{}:^+*~|\\<>=!,;]+/gu

function words (text: string): string[] {
  return text.split(/\s+/u).filter((w) => w !== '')
}

/** The terms of a search, in order; an empty list when nothing in it is searchable. */
export function parseSearch (input: string): SearchTerm[] {
  // Control characters (NUL included) are never part of a word.
  const text = input.replace(/\p{Cc}/gu, ' ')
  const terms: SearchTerm[] = []
  for (const match of text.matchAll(TOKEN)) {
    const [, phrase, phraseStar, bare] = match
    if (phrase !== undefined) {
      const inner = words(phrase.replace(SYNTAX, ' ')).join(' ')
      if (SEARCHABLE.test(inner)) terms.push({ text: inner, prefix: phraseStar === '*' })
      continue
    }
    // A bare run such as `-budget`, `title:brexit`, `NEAR(a`, `infla*` or `*`.
    const prefix = bare!.endsWith('*')
    const parts = words(bare!.replace(SYNTAX, ' ')).map((w) => w.replace(/^-+/u, ''))
      .filter((w) => SEARCHABLE.test(w) && !OPERATORS.has(w))
    parts.forEach((w, i) => terms.push({ text: w, prefix: prefix && i === parts.length - 1 }))
  }
  return terms.slice(0, MAX_TERMS)
}
