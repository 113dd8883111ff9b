// Markdown to safe HTML with markdown-it: raw HTML in the source is escaped (html: false), and its
// link validator drops javascript:, vbscript:, file: and most data: URLs.
import MarkdownIt from 'markdown-it'

const articles = new MarkdownIt({ html: false, linkify: true, typographer: false })

// Reader comments: the same, and every link is marked as user-generated so search engines ignore it.
const comments = new MarkdownIt({ html: false, linkify: true, typographer: false })
const COMMENT_LINK_REL = 'nofollow ugc noopener'
const defaultLinkOpen = comments.renderer.rules.link_open
comments.renderer.rules.link_open = (tokens, idx, options, env, self) => {
  tokens[idx]?.attrSet('rel', COMMENT_LINK_REL)
  return defaultLinkOpen ? defaultLinkOpen(tokens, idx, options, env, self) : self.renderToken(tokens, idx, options)
}

type Tokens = ReturnType<typeof comments.parse>

/**
 * Whether the image at `idx` of an inline token list renders as a link. A comment never shows a remote
 * <img>: it would be a tracking pixel, fetched from its author's server by every reader's browser. An
 * http(s) image becomes a link to it; inside a link (no link within a link), or with another kind of URL
 * (data:, relative), only its alt text is shown.
 */
function imageIsLink (inline: Tokens, idx: number): boolean {
  let depth = 0
  for (let i = 0; i < idx; i++) {
    const type = inline[i]?.type
    if (type === 'link_open') depth++
    else if (type === 'link_close') depth--
  }
  return depth === 0 && /^https?:\/\//i.test(inline[idx]?.attrGet('src') ?? '')
}

comments.renderer.rules.image = (tokens, idx, options, env, self) => {
  const token = tokens[idx]!
  const src = token.attrGet('src') ?? ''
  const alt = self.renderInlineAsText(token.children ?? [], options, env)
  const { escapeHtml } = comments.utils
  if (!imageIsLink(tokens, idx)) return escapeHtml(alt)
  const title = token.attrGet('title')
  const titleAttr = title ? ` title="${escapeHtml(title)}"` : ''
  return `<a href="${escapeHtml(src)}"${titleAttr} rel="${COMMENT_LINK_REL}">${escapeHtml(alt || src)}</a>`
}

export const renderArticleMarkdown = (source: string): string => articles.render(source)
export const renderCommentMarkdown = (source: string): string => comments.render(source)

/** The links a parsed comment renders: links, bare URLs that linkify turns into links, and images. */
function linksIn (tokens: Tokens): number {
  let n = 0
  for (const block of tokens) {
    const inline = block.children ?? []
    inline.forEach((token, i) => {
      if (token.type === 'link_open' || (token.type === 'image' && imageIsLink(inline, i))) n++
    })
  }
  return n
}

/**
 * A new comment's HTML and how many links it renders, from a single parse (markdown-it's render is
 * parse then render, with one env).
 */
export function renderCommentWithLinks (source: string): { html: string, links: number } {
  const env = {}
  const tokens = comments.parse(source, env)
  const links = linksIn(tokens)
  return { html: comments.renderer.render(tokens, comments.options, env), links }
}
