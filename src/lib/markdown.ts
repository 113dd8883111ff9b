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

/** How many links the Markdown would render (explicit links and bare URLs that linkify turns into links). */
export function countLinks (source: string): number {
  let n = 0
  for (const block of comments.parse(source, {})) {
    for (const token of block.children ?? []) if (token.type === 'link_open') n++
  }
  return n
}
