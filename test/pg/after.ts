// tap's `after` (.taprc): stops this run's PostgreSQL, if a test file started one, and removes its folder.
import { readFile, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { runDir, stopCluster, type Cluster } from './cluster.js'

const folder = runDir(process.ppid)
const state = await readFile(join(folder, 'cluster.json'), 'utf8').then((s) => JSON.parse(s) as Cluster, () => undefined)
if (state) await stopCluster(state)
await rm(folder, { recursive: true, force: true })
