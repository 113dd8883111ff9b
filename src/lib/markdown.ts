// Markdown to safe HTML with markdown-it: raw HTML in the source is escaped (html: false), and its
// link validator drops javascript:, vbscript:, file: and most data: URLs.
import MarkdownIt from 'markdown-it'

const articles = new MarkdownIt({ html: false, linkify: true, typographer: false })

// Reader comments: the same, and every link is marked as user-generated so search engines ignore it.
const comments = new MarkdownIt({ html: false, linkify: true, typographer: false })
const defaultLinkOpen = comments.renderer.rules.link_open
comments.renderer.rules.link_open = (tokens, idx, options, env, self) => {
  tokens[idx]?.attrSet('rel', 'nofollow ugc noopener')
  return defaultLinkOpen ? defaultLinkOpen(tokens, idx, options, env, self) : self.renderToken(tokens, idx, options)
}

export const renderArticleMarkdown = (source: string): string => articles.render(source)
export const renderCommentMarkdown = (source: string): string => comments.render(source)

type Tokens = ReturnType<typeof comments.parse>

function linksIn (tokens: Tokens): number {
  let n = 0
  for (const block of tokens) {
    for (const token of block.children ?? []) if (token.type === 'link_open') n++
  }
  return n
}

/**
 * A new comment's HTML and how many links it renders (explicit links and bare URLs that linkify turns
 * into links), from a single parse (markdown-it's render is parse then render, with one env).
 */
export function renderCommentWithLinks (source: string): { html: string, links: number } {
  const env = {}
  const tokens = comments.parse(source, env)
  const links = linksIn(tokens)
  return { html: comments.renderer.render(tokens, comments.options, env), links }
}
