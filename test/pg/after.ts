// tap's `after` (.taprc): stops this run's PostgreSQL, if a test file started one, and removes its folder.
import { readFile, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { runDir, stopCluster, type Cluster } from './cluster.js'

// Run as a test file instead (`tap test/pg` names the folder, and .taprc's exclude does not apply to
// what is named), it must do nothing: tap's children that are tests have TAP_CHILD_ID; before/after do not.
if (process.env.TAP_CHILD_ID !== undefined) {
  console.log('1..0 # SKIP not a test: .taprc runs it after the tests')
  process.exit(0)
}

const folder = runDir(process.ppid)
const state = await readFile(join(folder, 'cluster.json'), 'utf8').then((s) => JSON.parse(s) as Cluster, () => undefined)
if (state) await stopCluster(state)
await rm(folder, { recursive: true, force: true })
