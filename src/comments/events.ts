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
import type { EventData, EventType } from '../events/schemas.js'
import { toComment, type CommentRecord } from './repository.js'
import type { CommentStatus } from './schemas.js'

/** What the events need of a comment before a change: enough to say whether it was public, and where. */
export type CommentBefore = Pick<CommentRecord, 'id' | 'articleId' | 'articleSlug' | 'status' | 'body'>

/** Records one event in the write's transaction (each engine's outbox). */
export type Emit = <T extends EventType>(type: T, data: EventData[T]) => void

/**
 * Which events each comment write records, given whether the comment was and is public (approved on an
 * announced article, which each engine reads in its own transaction): the rules of both adapters.
 */
export const commentEventRules = {
  created (record: CommentRecord, isPublic: boolean, emit: Emit): void {
    emit('comment.submitted', { id: record.id, articleSlug: record.articleSlug, status: record.status === 'approved' ? 'approved' : 'pending' })
    if (isPublic) emit('comment.approved', toComment(record))
  },

  changed (before: CommentBefore, after: CommentRecord, was: boolean, is: boolean, emit: Emit): void {
    if (is && !was) emit('comment.approved', toComment(after))
    else if (is && was && after.body !== before.body) emit('comment.edited', toComment(after))
    else if (was && !is) emit('comment.removed', { id: before.id, articleSlug: before.articleSlug })
  },

  left (before: Omit<CommentBefore, 'body'>, was: boolean, emit: Emit): void {
    if (was) emit('comment.removed', { id: before.id, articleSlug: before.articleSlug })
  },

  /** An erased comment's comment.approved / comment.edited as a tombstone, the shape the API gives a deleted comment. */
  redacted: (c: EventData['comment.approved']): EventData['comment.approved'] => ({
    ...c, authorName: null, authorUrl: null, avatarHash: null, body: '', bodyHtml: '', status: 'deleted', edited: false
  })
}

/** Whether a comment can be public at all: approved (its article must also be announced). */
export const approved = (status: CommentStatus): boolean => status === 'approved'

export function commentEvents (db: Db, { outbox, announceDue }: WriteEvents) {
  const announced = db.$client.prepare<[number], number>('SELECT announced FROM articles WHERE id = ?').pluck()
  const isPublic = (status: CommentStatus, articleId: number): boolean => approved(status) && announced.get(articleId) === 1
  const emitAt = (now: number): Emit => (type, data) => { outbox.record(type, data, now) }

  return {
    /** Call first in a write transaction: announces due publications, so that articles' visibility is current. */
    announceDue,

    /** A new comment: comment.submitted always (for moderation tools), comment.approved when the public sees it. */
    created (record: CommentRecord, now: number): void {
      commentEventRules.created(record, isPublic(record.status, record.articleId), emitAt(now))
    },

    /** A change from `before` to `after`, the comment as it stands after the write. */
    changed (before: CommentBefore, after: CommentRecord, now: number): void {
      commentEventRules.changed(before, after, isPublic(before.status, before.articleId), isPublic(after.status, after.articleId), emitAt(now))
    },

    /** The comment no longer shows in the thread as itself: deleted, erased, or sent back to pending by reports. */
    left (before: Omit<CommentBefore, 'body'>, now: number): void {
      commentEventRules.left(before, isPublic(before.status, before.articleId), emitAt(now))
    },

    /**
     * Erasure: the events that showed these comments (comment.approved, comment.edited: the author's name,
     * URL, avatar hash and words) now show each as a tombstone, the shape the API gives a deleted comment,
     * and their webhook deliveries still waiting are dropped. comment.submitted and comment.removed hold
     * only the id and the article, and stay as they are.
     */
    erased (ids: readonly number[]): void {
      outbox.redactComments(ids, commentEventRules.redacted)
    }
  }
}

export type CommentEvents = ReturnType<typeof commentEvents>
