// The module hooks test/loader.mjs registers (they run on Node's loader thread).
import { readFile } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { transform } from 'esbuild'

const typescript = /\.(ts|mts|cts)$/

export async function resolve (specifier, context, next) {
  // NodeNext: a TypeScript file imports its sibling `./x.ts` as `./x.js`.
  if (specifier.endsWith('.js') && (specifier.startsWith('.') || specifier.startsWith('file:')) &&
      context.parentURL?.startsWith('file:') && !context.parentURL.includes('/node_modules/')) {
    const url = new URL(specifier, context.parentURL)
    const ts = new URL(url.href.slice(0, -3) + '.ts')
    if (!existsSync(url) && existsSync(ts)) return next(ts.href, context)
  }
  return next(specifier, context)
}

export async function load (url, context, next) {
  if (!url.startsWith('file:') || !typescript.test(url) || url.includes('/node_modules/')) return next(url, context)
  const path = fileURLToPath(url)
  const { code } = await transform(await readFile(path, 'utf8'), {
    loader: 'ts',
    format: url.endsWith('.cts') ? 'cjs' : 'esm',
    target: `node${process.versions.node}`,
    sourcemap: 'inline',
    sourcefile: path,
    // What `verbatimModuleSyntax` promises: an import is kept or dropped as written.
    tsconfigRaw: { compilerOptions: { verbatimModuleSyntax: true, target: 'ES2022', useDefineForClassFields: true } }
  })
  return { format: url.endsWith('.cts') ? 'commonjs' : 'module', source: code, shortCircuit: true }
}
