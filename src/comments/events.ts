// The public events of comment writes (API.md section 10), recorded in the outbox inside the write's own
// transaction. Every write that can change what the public sees of a comment goes through here: posting,
// moderation, an author's edit or delete (the edit window), a report that reaches the threshold, erasure.
// A comment is public when it is approved on an article the public can see (the article is announced:
// call announceDue first in the transaction, so `announced` is current and the log shows the article's
// publication before anything on it).
//   not public → public     comment.approved (the public comment)
//   public, body changed    comment.edited (the public comment)
//   public → not public     comment.removed ({ id, articleSlug }): moderated away, sent back to pending by
//                           re-moderation or by reports, deleted, erased
import type { Db } from '../db/connection.js'
import type { WriteEvents } from '../events/outbox.js'
import { toComment, type CommentRecord } from './repository.js'
import type { CommentStatus } from './schemas.js'

/** What the events need of a comment before a change: enough to say whether it was public, and where. */
export type CommentBefore = Pick<CommentRecord, 'id' | 'articleId' | 'articleSlug' | 'status' | 'body'>

export function commentEvents (db: Db, { outbox, announceDue }: WriteEvents) {
  const announced = db.$client.prepare<[number], number>('SELECT announced FROM articles WHERE id = ?').pluck()
  const isPublic = (status: CommentStatus, articleId: number): boolean => status === 'approved' && announced.get(articleId) === 1
  const removed = (c: Pick<CommentRecord, 'id' | 'articleSlug'>, now: number): void => {
    outbox.record('comment.removed', { id: c.id, articleSlug: c.articleSlug }, now)
  }

  return {
    /** Call first in a write transaction: announces due publications, so that articles' visibility is current. */
    announceDue,

    /** A new comment: comment.submitted always (for moderation tools), comment.approved when the public sees it. */
    created (record: CommentRecord, now: number): void {
      outbox.record('comment.submitted', { id: record.id, articleSlug: record.articleSlug, status: record.status === 'approved' ? 'approved' : 'pending' }, now)
      if (isPublic(record.status, record.articleId)) outbox.record('comment.approved', toComment(record), now)
    },

    /** A change from `before` to `after`, the comment as it stands after the write. */
    changed (before: CommentBefore, after: CommentRecord, now: number): void {
      const was = isPublic(before.status, before.articleId)
      const is = isPublic(after.status, after.articleId)
      if (is && !was) outbox.record('comment.approved', toComment(after), now)
      else if (is && was && after.body !== before.body) outbox.record('comment.edited', toComment(after), now)
      else if (was && !is) removed(before, now)
    },

    /** The comment no longer shows in the thread as itself: deleted, erased, or sent back to pending by reports. */
    left (before: Omit<CommentBefore, 'body'>, now: number): void {
      if (isPublic(before.status, before.articleId)) removed(before, now)
    },

    /**
     * Erasure: the events that showed these comments (comment.approved, comment.edited: the author's name,
     * URL, avatar hash and words) now show each as a tombstone, the shape the API gives a deleted comment,
     * and their webhook deliveries still waiting are dropped. comment.submitted and comment.removed hold
     * only the id and the article, and stay as they are.
     */
    erased (ids: readonly number[]): void {
      outbox.redactComments(ids, (c) => ({
        ...c, authorName: null, authorUrl: null, avatarHash: null, body: '', bodyHtml: '', status: 'deleted', edited: false
      }))
    }
  }
}

export type CommentEvents = ReturnType<typeof commentEvents>
