// The OpenAPI document exactly as the server serves it, built from a throwaway in-memory app.
import { buildApp } from './app.js'
import { defaultConfig } from './config.js'

export async function generateOpenApi (): Promise<{ json: string, yaml: string }> {
  const app = await buildApp({ config: { ...defaultConfig, databasePath: ':memory:', seedDemo: false } })
  try {
    await app.ready()
    return { json: `${JSON.stringify(app.swagger(), null, 2)}\n`, yaml: app.swagger({ yaml: true }) }
  } finally {
    await app.close()
  }
}
