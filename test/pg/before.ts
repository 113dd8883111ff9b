// tap's `before` (.taprc): marks this run so its test files share one PostgreSQL (test/pg/cluster.ts), and
// removes what earlier runs that died before their `after` left behind. Starts nothing itself: the first
// file that needs PostgreSQL does, so a run without one costs nothing.
import { mkdir } from 'node:fs/promises'
import { runDir, sweepStaleRuns } from './cluster.js'

await sweepStaleRuns()
// tap runs this script and every test file as children of the runner.
await mkdir(runDir(process.ppid), { recursive: true })
