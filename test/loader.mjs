// How tap runs the TypeScript tests: each test file is its own Node process, and each must first turn
// src/ and test/ into JavaScript. tap's default (ts-node over the TypeScript compiler) spent about half of
// every file's CPU on that; tsx is fast but minifies whitespace, so coverage, which V8 counts per line of
// the code it ran, read 100% everywhere. This does what tsx does with esbuild, keeping the lines: the same
// transpile-only contract (tsc checks types in `npm run typecheck`), an inline source map for coverage and
// stack traces, and `./x.js` imports resolved to `./x.ts` as NodeNext resolution allows.
// Registered after the ts-node hooks of tap's typescript plugin, these run first, so a .ts file never
// reaches ts-node.
//   node --import ./test/loader.mjs file.ts     (what .taprc's node-arg does for every test file)
import { register } from 'node:module'

register('./loader-hooks.mjs', import.meta.url)
