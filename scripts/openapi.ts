// npm run openapi: writes the generated OpenAPI document to openapi/, where it is committed.
import { writeFileSync } from 'node:fs'
import { generateOpenApi } from '../src/openapi-document.js'

const { json, yaml } = await generateOpenApi()
writeFileSync(new URL('../openapi/openapi.json', import.meta.url), json)
writeFileSync(new URL('../openapi/openapi.yaml', import.meta.url), yaml)
console.log('wrote openapi/openapi.json and openapi/openapi.yaml')
