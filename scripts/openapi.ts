// npm run openapi: writes the generated OpenAPI document to openapi/, where it is committed, and the
// TypeScript types of the typed client generated from it (openapi/client/schema.d.ts).
import { mkdirSync, writeFileSync } from 'node:fs'
import { generateOpenApi } from '../src/openapi-document.js'
import { generateClientTypes } from './client-types.js'

const { json, yaml } = await generateOpenApi()
mkdirSync(new URL('../openapi/client/', import.meta.url), { recursive: true })
writeFileSync(new URL('../openapi/openapi.json', import.meta.url), json)
writeFileSync(new URL('../openapi/openapi.yaml', import.meta.url), yaml)
writeFileSync(new URL('../openapi/client/schema.d.ts', import.meta.url), await generateClientTypes(json))
console.log('wrote openapi/openapi.json, openapi/openapi.yaml and openapi/client/schema.d.ts')
