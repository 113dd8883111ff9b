// Comment rules that are not SQL: where a comment may go, whether it waits for moderation, the avatar
// hash, the Markdown.
import { createHmac } from 'node:crypto'
import type { CommentModeration } from '../config.js'
import { Conflict, Forbidden, invalid } from '../http/errors.js'
import { renderCommentMarkdown, renderCommentWithLinks } from '../lib/markdown.js'
import { checkAuthorAccess, generateEditToken } from './edit-window.js'
import { commentModeration, publish, type CommentModerationMessage } from '../observability/channels.js'
import type { CommentChange, CommentRecord, CommentRepository, CommentTarget, FirstCommentRule } from './repository.js'
import type { CommentStatus, CreateCommentInput, UpdateCommentInput } from './schemas.js'

export interface CommentServiceOptions {
  moderation: CommentModeration
  maxLinks: number
  /** The server secret of the avatar HMAC, persisted in settings. */
  avatarKey: string
  /** How long after posting an author may edit or delete with the edit token; 0: never. */
  editMinutes: number
  now: () => number
}

/** Where a new comment came from: stored for moderators only. */
export interface CommentOrigin {
  ip: string | null
  userAgent: string | null
}

export const normaliseEmail = (email: string): string => email.trim().toLowerCase()

export function commentService (repo: CommentRepository, opts: CommentServiceOptions) {
  const avatarHash = (email: string): string =>
    createHmac('sha256', opts.avatarKey).update(normaliseEmail(email)).digest('hex')

  /**
   * The moderation rules for a new comment: `links` is how many links its body renders. Under `first`, the
   * rule (FirstCommentRule) that the repository decides in the write's transaction.
   */
  function newStatus (email: string, links: number): CommentStatus | FirstCommentRule {
    if (links > opts.maxLinks) return 'pending'
    if (opts.moderation === 'none') return 'approved'
    if (opts.moderation === 'all') return 'pending'
    return { ifKnown: normaliseEmail(email) }
  }

  /** The same rules for an author's edit of comment `self`, which does not count as its author's earlier approval. */
  async function moderate (email: string, links: number, self: number): Promise<CommentStatus> {
    const status = newStatus(email, links)
    return typeof status === 'string' ? status : await repo.hasApprovedComment(status.ifKnown, self) ? 'approved' : 'pending'
  }

  return {
    avatarHash,

    /**
     * Adds a comment to an article the caller has already been allowed to see, with its edit token
     * (null when authors may not edit). `status` overrides moderation (the welcome comment on a new database).
     */
    async create (article: CommentTarget, input: CreateCommentInput, origin: CommentOrigin, status?: CommentStatus): Promise<{ record: CommentRecord, editToken: string | null }> {
      if (!article.commentsOpen) throw new Conflict(`Comments on "${article.slug}" are closed.`, 'comments-closed', 'Comments Closed')
      if (input.parentId !== undefined) {
        const parent = await repo.findById(input.parentId)
        if (!parent || parent.articleId !== article.id || parent.status !== 'approved') {
          throw invalid('body', '/parentId', 'must be the id of an approved comment on the same article')
        }
      }
      if (input.authorUrl !== undefined && !isWebUrl(input.authorUrl)) {
        throw invalid('body', '/authorUrl', 'must be an http or https URL with a host')
      }
      const rendered = renderCommentWithLinks(input.body)
      const edit = opts.editMinutes > 0 ? generateEditToken() : null
      const record = await repo.create(article, {
        articleId: article.id,
        parentId: input.parentId ?? null,
        authorName: input.authorName,
        authorEmail: input.authorEmail,
        authorUrl: input.authorUrl ?? null,
        avatarHash: avatarHash(input.authorEmail),
        body: input.body,
        bodyHtml: rendered.html,
        status: status ?? newStatus(input.authorEmail, rendered.links),
        ip: origin.ip,
        userAgent: origin.userAgent,
        editTokenHash: edit?.hash ?? null
      }, opts.now())
      publish<CommentModerationMessage>(commentModeration, { by: 'auto', status: record.status })
      return { record, editToken: edit?.token ?? null }
    },

    /** Applies a moderator's change; the same record back when it changes nothing. `unchanged` guards the write (writeIfMatch). */
    async update (current: CommentRecord, patch: UpdateCommentInput, unchanged: (fresh: CommentRecord) => boolean): Promise<CommentRecord> {
      if (current.status === 'deleted') {
        throw new Conflict('This comment was deleted and only remains as a tombstone for its replies; it cannot be edited.')
      }
      const set: CommentChange = {}
      if (patch.status !== undefined && patch.status !== current.status) set.status = patch.status
      if (patch.body !== undefined && patch.body !== current.body) {
        set.body = patch.body
        set.bodyHtml = renderCommentMarkdown(patch.body)
        set.edited = true
      }
      if (Object.keys(set).length === 0) return current
      const updated = await repo.update(current, set, opts.now(), unchanged)
      if (set.status !== undefined) publish<CommentModerationMessage>(commentModeration, { by: 'moderator', status: set.status })
      return updated
    },

    /**
     * 403 unless `token` is the comment's edit token, its window is open and no moderator removed it
     * (spam, trash).
     */
    checkAuthor (current: CommentRecord, token: string): void {
      checkAuthorAccess(current, token, opts.now(), opts.editMinutes)
    },

    /**
     * The author's edit (after checkAuthor): the body only. An approved comment goes through the
     * moderation rules again, as if new, except that it is not its own author's earlier approval; a
     * pending one stays pending for a moderator to decide. On a closed thread it is a 409, also when
     * the thread closes before the write (`unchanged` guards the write, as in update).
     */
    async editByAuthor (current: CommentRecord, patch: UpdateCommentInput, unchanged: (fresh: CommentRecord) => boolean): Promise<CommentRecord> {
      if (patch.status !== undefined) throw new Forbidden('Only moderators change a comment\'s status; its author may edit the body or delete it.')
      if (!current.articleCommentsOpen) throw new Conflict(`Comments on "${current.articleSlug}" are closed.`, 'comments-closed', 'Comments Closed')
      if (patch.body === undefined || patch.body === current.body) return current
      const rendered = renderCommentWithLinks(patch.body)
      const set: CommentChange = { body: patch.body, bodyHtml: rendered.html, edited: true }
      if (current.status === 'approved') set.status = await moderate(current.authorEmail, rendered.links, current.id)
      return repo.update(current, set, opts.now(), (fresh) => fresh.articleCommentsOpen && unchanged(fresh))
    },

    async delete (current: CommentRecord, unchanged: (fresh: CommentRecord) => boolean): Promise<void> {
      await repo.delete(current, opts.now(), unchanged)
      publish<CommentModerationMessage>(commentModeration, { by: 'moderator', status: 'deleted' })
    }
  }
}

function isWebUrl (value: string): boolean {
  try {
    const url = new URL(value)
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== ''
  } catch {
    return false
  }
}

export type CommentService = ReturnType<typeof commentService>
