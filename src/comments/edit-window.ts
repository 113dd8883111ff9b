// The author's edit window: the 201 of a new comment carries an edit token (shown once, stored only as
// its SHA-256); with it in a `Comment-Token` header the author may edit the body or delete the comment
// for COMMENT_EDIT_MINUTES after posting. Bearer tokens (moderators and above) are not bound by it.
import { createHash, timingSafeEqual } from 'node:crypto'
import { randomString } from '../lib/random.js'
import { Forbidden } from '../http/errors.js'
import type { CommentRow } from './repository.js'

/** A new edit token: 256 random bits, URL-safe, prefixed so that a leaked one is easy to recognise. */
export function generateEditToken (): { token: string, hash: string } {
  const token = `gzc_${randomString(32, 'base64url')}`
  return { token, hash: hashEditToken(token) }
}

export const hashEditToken = (token: string): string => createHash('sha256').update(token).digest('hex')

/**
 * Whether `token` may act on `row` at `now`; a Forbidden (403) saying why not otherwise. The token is
 * checked first, so that only the author learns the comment's moderation status or age.
 */
export function checkAuthorAccess (row: Pick<CommentRow, 'editTokenHash' | 'status' | 'createdAt'>, token: string, now: number, windowMinutes: number): void {
  const expected = row.editTokenHash === null ? undefined : Buffer.from(row.editTokenHash, 'hex')
  const given = Buffer.from(hashEditToken(token), 'hex')
  if (expected === undefined || expected.length !== given.length || !timingSafeEqual(expected, given)) {
    throw new Forbidden('This Comment-Token is not the edit token of this comment.')
  }
  if (row.status === 'spam' || row.status === 'trash') {
    throw new Forbidden('A moderator has removed this comment; its author can no longer change it.')
  }
  if (now >= row.createdAt + windowMinutes * 60_000) {
    throw new Forbidden(`The edit window is closed: a comment can be changed by its author for ${windowMinutes} minutes after posting.`)
  }
}
