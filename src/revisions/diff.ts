// Two revisions compared field by field; the body as a unified diff made by jsdiff.
import { FILE_HEADERS_ONLY, formatPatch, structuredPatch, type StructuredPatch } from 'diff'
import { toIsoOrNull } from '../http/time.js'
import { changedFields, type ArticleState } from './fields.js'
import type { FieldChanges, RevisionDiff } from './schemas.js'

/** Lines of context around each change in the body's diff, as `diff -u` gives. */
const CONTEXT = 3
/** A line diff that takes longer than this gives up: the patch then replaces every line. */
const DIFF_TIMEOUT_MS = 500

function lines (text: string): string[] {
  if (text === '') return []
  const out = text.split('\n')
  if (out[out.length - 1] === '') out.pop()
  return out
}

/** A patch that removes every line of one text and adds every line of the other. */
function replaceAll (oldName: string, newName: string, from: string, to: string): StructuredPatch {
  const side = (text: string, sign: string) => {
    const out = lines(text).map((l) => sign + l)
    if (text !== '' && !text.endsWith('\n')) out.push('\\ No newline at end of file')
    return out
  }
  const oldLines = lines(from).length
  const newLines = lines(to).length
  return {
    oldFileName: oldName,
    newFileName: newName,
    oldHeader: undefined,
    newHeader: undefined,
    hunks: [{ oldStart: oldLines === 0 ? 0 : 1, oldLines, newStart: newLines === 0 ? 0 : 1, newLines, lines: [...side(from, '-'), ...side(to, '+')] }]
  }
}

function bodyChange (from: string, to: string, oldName: string, newName: string): NonNullable<FieldChanges['body']> {
  const patch = structuredPatch(oldName, newName, from, to, undefined, undefined, { context: CONTEXT, timeout: DIFF_TIMEOUT_MS }) ??
    replaceAll(oldName, newName, from, to)
  let additions = 0
  let deletions = 0
  for (const hunk of patch.hunks) {
    for (const line of hunk.lines) {
      if (line.startsWith('+')) additions++
      else if (line.startsWith('-')) deletions++
    }
  }
  return { patch: formatPatch(patch, FILE_HEADERS_ONLY), additions, deletions }
}

const without = <T>(list: T[], others: T[], key: (x: T) => unknown): T[] =>
  list.filter((x) => !others.some((o) => key(o) === key(x)))

/** What differs from `against` (its state `from`) to `revision` (its state `to`). */
export function diffRevisions (revision: number, against: number, to: ArticleState, from: ArticleState): RevisionDiff {
  // Tags compare by slug: a tag renamed between the two is the same tag.
  const changed = changedFields(from, to)
  const fields: FieldChanges = {}
  for (const field of changed) {
    switch (field) {
      case 'body':
        fields.body = bodyChange(from.body, to.body, `body@${against}`, `body@${revision}`)
        break
      case 'authors':
        fields.authors = { from: from.authors, to: to.authors, added: without(to.authors, from.authors, (a) => a), removed: without(from.authors, to.authors, (a) => a) }
        break
      case 'tags':
        fields.tags = { from: from.tags, to: to.tags, added: without(to.tags, from.tags, (t) => t.slug), removed: without(from.tags, to.tags, (t) => t.slug) }
        break
      case 'commentsOpen':
        fields.commentsOpen = { from: from.commentsOpen, to: to.commentsOpen }
        break
      case 'image':
        fields.image = { from: from.image, to: to.image }
        break
      case 'publishedAt':
        fields.publishedAt = { from: toIsoOrNull(from.publishedAt), to: toIsoOrNull(to.publishedAt) }
        break
      default:
        fields[field] = { from: from[field], to: to[field] }
    }
  }
  return { revision, against, changed, fields }
}
