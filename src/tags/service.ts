// Tag rules that are not SQL: trimmed names, slugs derived from names, what counts as a change.
import type { Visibility } from '../articles/visibility.js'
import { invalid } from '../http/errors.js'
import type { CreateTagInput, UpdateTagInput } from './schemas.js'
import { tagNameKey, type TagNameKey } from './article-tags.js'
import type { CountedTagRow, TagRepository, TagWrite } from './repository.js'

/** The trimmed name and its slug; 422 when it has nothing a slug can be made of. */
function cleanName (name: string): TagNameKey {
  const key = tagNameKey(name)
  if (key.slug === '') throw invalid('body', '/name', 'must contain a letter or digit')
  return key
}

export function tagService (repo: TagRepository, now: () => number) {
  return {
    async create (input: CreateTagInput): Promise<CountedTagRow> {
      const { name, slug } = cleanName(input.name)
      const write: TagWrite = { name, slug: input.slug ?? slug, description: input.description ?? null }
      return repo.create(write, now())
    },

    /** Merges the patch; a patch that changes nothing writes nothing. `unchanged` guards the write (writeIfMatch). */
    async update (current: CountedTagRow, patch: UpdateTagInput, visibility: Visibility, unchanged: (fresh: CountedTagRow) => boolean): Promise<CountedTagRow> {
      const write: TagWrite = {
        name: patch.name === undefined ? current.name : cleanName(patch.name).name,
        slug: patch.slug ?? current.slug,
        description: patch.description === undefined ? current.description : patch.description
      }
      const same = write.name === current.name && write.slug === current.slug && write.description === current.description
      if (same) return current
      return repo.update(current, write, now(), visibility, unchanged)
    }
  }
}

export type TagService = ReturnType<typeof tagService>
