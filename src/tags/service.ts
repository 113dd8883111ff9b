// Tag rules that are not SQL: trimmed names, slugs derived from names, what counts as a change.
import type { Visibility } from '../articles/repository.js'
import { invalid } from '../http/errors.js'
import { toSlug } from '../lib/slug.js'
import { TAG_SLUG_MAX, type CreateTagInput, type UpdateTagInput } from './schemas.js'
import type { CountedTagRow, TagRepository, TagWrite } from './repository.js'

/** The trimmed name; 422 when it has nothing a slug can be made of. */
function cleanName (name: string): string {
  const trimmed = name.trim()
  if (toSlug(trimmed, TAG_SLUG_MAX) === '') throw invalid('body', '/name', 'must contain a letter or digit')
  return trimmed
}

export function tagService (repo: TagRepository, now: () => number) {
  return {
    async create (input: CreateTagInput): Promise<CountedTagRow> {
      const name = cleanName(input.name)
      const write: TagWrite = { name, slug: input.slug ?? toSlug(name, TAG_SLUG_MAX), description: input.description ?? null }
      return repo.create(write, now())
    },

    /** Merges the patch; a patch that changes nothing writes nothing. `unchanged` guards the write (writeIfMatch). */
    async update (current: CountedTagRow, patch: UpdateTagInput, visibility: Visibility, unchanged: (fresh: CountedTagRow) => boolean): Promise<CountedTagRow> {
      const write: TagWrite = {
        name: patch.name === undefined ? current.name : cleanName(patch.name),
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
