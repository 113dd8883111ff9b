// Compiles native/gazette.c (the query budget's watchdog and the search ranking, see that file) into a
// SQLite loadable extension, against the sqlite3ext.h that better-sqlite3 ships, so it always matches the
// SQLite it is loaded into. `npm install` runs it (postinstall), and so do `npm run build` and `npm test`;
// it compiles only when the source is newer than the library. Needs a C compiler (`cc`, or $CC): on
// Debian, `apt-get install build-essential`, which better-sqlite3 needs anyway when it builds from source.
//
//   node --import tsx scripts/build-native.ts [--force]
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, statSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { nativeLibrary } from '../src/db/native.js'

const root = fileURLToPath(new URL('..', import.meta.url))
const source = join(root, 'native', 'gazette.c')
const include = join(dirname(createRequire(import.meta.url).resolve('better-sqlite3/package.json')), 'deps', 'sqlite3')
const header = join(include, 'sqlite3ext.h')
const out = nativeLibrary

const mtime = (path: string): number => statSync(path).mtimeMs
const fresh = existsSync(out) && mtime(out) >= mtime(source) && mtime(out) >= mtime(header)
if (fresh && !process.argv.includes('--force')) process.exit(0)

mkdirSync(dirname(out), { recursive: true })
const cc = process.env.CC ?? 'cc'
const args = ['-O2', '-fPIC', '-Wall', '-Wextra', '-I', include, source, '-o', out, '-lpthread',
  ...(process.platform === 'darwin' ? ['-dynamiclib'] : ['-shared'])]
try {
  execFileSync(cc, args, { stdio: 'inherit' })
} catch {
  console.error(`\nGazette could not compile ${source} with "${cc}". It needs a C compiler (Debian: apt-get install build-essential);` +
    ' then run `npm run build:native`. The server refuses to start without it.')
  process.exit(1)
}
