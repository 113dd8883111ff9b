// Gazette's typed client: openapi-fetch over the types generated from openapi/openapi.json.
//   const gazette = createGazetteClient('http://127.0.0.1:3000', process.env.GAZETTE_TOKEN)
//   const { data, error } = await gazette.GET('/v1/articles/{slug}', { params: { path: { slug } } })
import createClient, { type Client } from 'openapi-fetch'
import type { paths } from './schema.js'

export type { paths, components, operations } from './schema.js'

export function createGazetteClient (baseUrl: string, token?: string): Client<paths> {
  return createClient<paths>({
    baseUrl,
    headers: token === undefined ? {} : { authorization: `Bearer ${token}` }
  })
}
