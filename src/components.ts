// The schemas named in the OpenAPI document as components (`#/components/schemas/…`), added to the app by
// src/app.ts before any route, in dependency order. A new body or model gets its `$id` and a place here.
import { IncludeTotal, Problem, PageInfo } from './http/schemas.js'
import { ContentEncoding } from './http/headers.js'
import { OpenApiDocument } from './plugins/openapi.js'
import {
  Article, ArticleImage, ArticleList, ArticleSort, ArticleStatus, ArticleStatusFilter, ArticleSummary, CreateArticleBody, UpdateArticleBody
} from './articles/schemas.js'
import { revisionSchemas } from './revisions/schemas.js'
import { CreateTagBody, Tag, TagList, TagRef, TagSort, UpdateTagBody } from './tags/schemas.js'
import {
  Comment, CommentList, CommentQueueSort, CommentStatus, CommentStatusFilter, CreateCommentBody, CreatedComment, CreateReportBody,
  ModeratedComment, ModeratedCommentList, ModerationStatus, ReportReason, UpdateCommentBody
} from './comments/schemas.js'
import { ErasureResult, PrivacyEraseRequest, PrivacyExportRequest } from './privacy/schemas.js'
import { CreatedToken, CreateTokenBody, Role, Token, TokenList } from './tokens/schemas.js'
import { eventComponents } from './events/schemas.js'
import { webhookComponents } from './webhooks/schemas.js'
import { JsonFeed, JsonFeedAuthor, JsonFeedItem } from './feeds/schemas.js'

// Schemas named in the OpenAPI document as components, in dependency order.
export const sharedSchemas = [
  Problem, PageInfo, IncludeTotal, ContentEncoding, OpenApiDocument, TagRef, Role, Token, CreatedToken, TokenList, CreateTokenBody,
  ArticleStatus, ArticleStatusFilter, ArticleSort, ArticleImage, Article, ArticleSummary, ArticleList, CreateArticleBody, UpdateArticleBody,
  Tag, TagList, TagSort, CreateTagBody, UpdateTagBody,
  CommentStatus, ModerationStatus, CommentStatusFilter, CommentQueueSort,
  Comment, ModeratedComment, CommentList, ModeratedCommentList, CreateCommentBody, UpdateCommentBody,
  JsonFeedAuthor, JsonFeedItem, JsonFeed,
  CreatedComment, ReportReason, CreateReportBody,
  PrivacyExportRequest, PrivacyEraseRequest, ErasureResult,
  ...revisionSchemas,
  ...eventComponents, ...webhookComponents
]
