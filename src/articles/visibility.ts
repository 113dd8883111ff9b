// Who sees an article, and so everything under it: its comments (threads, single comments, posting,
// moderation) are seen exactly when the article is. Editors and admins see every article; everyone else,
// moderators included, sees an article once it is published and its publishedAt is due.
// (The rule on a row is isVisible in ./repository.ts; in SQL, visibleToPublic there.)
import type { FastifyRequest } from 'fastify'
import { hasRole } from '../plugins/auth.js'
import type { Visibility } from './repository.js'

/** What this caller may see of articles at `now`. */
export const visibilityOf = (request: FastifyRequest, now: number): Visibility =>
  hasRole(request, 'editor') ? null : { visibleAt: now }
