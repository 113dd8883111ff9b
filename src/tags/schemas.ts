import { Type, type Static } from 'typebox'
import { Slug } from '../http/schemas.js'

export const TagRef = Type.Object({
  slug: Slug,
  name: Type.String({ examples: ['Japan'] })
}, { $id: 'TagRef', title: 'TagRef', description: 'A tag as articles carry it.', additionalProperties: false })
export type TagRef = Static<typeof TagRef>
