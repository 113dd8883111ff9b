// tap's `before` (.taprc): marks this run so its test files share one PostgreSQL (test/pg/cluster.ts), and
// removes what earlier runs that died before their `after` left behind. Starts nothing itself: the first
// file that needs PostgreSQL does, so a run without one costs nothing.
import { mkdir } from 'node:fs/promises'
import { runDir, sweepStaleRuns } from './cluster.js'

// Run as a test file instead (`tap test/pg` names the folder, and .taprc's exclude does not apply to
// what is named), it must do nothing: tap's children that are tests have TAP_CHILD_ID; before/after do not.
if (process.env.TAP_CHILD_ID !== undefined) {
  console.log('1..0 # SKIP not a test: .taprc runs it before the tests')
  process.exit(0)
}

await sweepStaleRuns()
// tap runs this script and every test file as children of the runner.
await mkdir(runDir(process.ppid), { recursive: true })
