// Docs that name files must name files that exist: README.md, CONTRIBUTING.md, src/http/README.md,
// bench/README.md, and the comments of src/**/*.ts. A comment
// that points to a figure (`bench/README.md#anchor`) must find that heading.
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const PATH = /(?<![\w./-])((?:src|test|bench|migrations)\/[\w./-]*\w)/g
const FIGURES = 'Why the code is shaped this way'

function sourceFiles (dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [])
}

/** A path exists as a file or folder, or (`migrations/0004`) as the prefix of a migration's name. */
function exists (path: string): boolean {
  if (existsSync(join(root, path))) return true
  const folder = dirname(path)
  const prefix = path.slice(folder.length + 1)
  return path.startsWith('migrations/') && existsSync(join(root, folder)) &&
    readdirSync(join(root, folder)).some((name) => name.startsWith(prefix))
}

const benchReadme = readFileSync(join(root, 'bench/README.md'), 'utf8')
const figures = benchReadme.slice(benchReadme.indexOf(`## ${FIGURES}`))

const documents: [string, string][] = [
  ['README.md', readFileSync(join(root, 'README.md'), 'utf8')],
  ['CONTRIBUTING.md', readFileSync(join(root, 'CONTRIBUTING.md'), 'utf8')],
  ['src/http/README.md', readFileSync(join(root, 'src/http/README.md'), 'utf8')],
  ['bench/README.md', benchReadme],
  // Comments only: a line of code may build paths that are not files.
  ...sourceFiles('src').map((file): [string, string] => [file, readFileSync(join(root, file), 'utf8').split('\n')
    .filter((line) => /^\s*(\/\/|\*|\/\*)/.test(line) || line.includes(' // ')).join('\n')])
]

t.test('every path the docs name exists', async (t) => {
  t.ok(benchReadme.includes(`## ${FIGURES}`), 'bench/README.md has the figures section')
  let named = 0
  for (const [name, text] of documents) {
    for (const [, raw] of text.matchAll(PATH)) {
      const path = (raw ?? '').replace(/\.$/, '')
      // Generated output (gitignored), and folders named with a glob or placeholder.
      if (path.startsWith('bench/results') || /[*{<]/.test(path)) continue
      named++
      t.ok(exists(path), `${relative('.', name)} names ${path}`)
    }
  }
  t.ok(named > 50, `paths checked: ${named}`)
})

t.test('every figure a comment points to has its heading in bench/README.md', async (t) => {
  const anchors = new Set([...figures.matchAll(/^### ([\w-]+)$/gm)].map((m) => m[1]))
  let pointers = 0
  for (const file of sourceFiles('src')) {
    for (const [, anchor] of readFileSync(join(root, file), 'utf8').matchAll(/bench\/README\.md#([\w-]+)/g)) {
      pointers++
      t.ok(anchors.has(anchor), `${file} points to bench/README.md#${anchor}`)
    }
  }
  t.ok(pointers >= 10, `pointers checked: ${pointers}`)
})
