// Database time by repository operation, for metrics and traces, without touching the repositories: each
// method of a repository object is replaced, in place, by one that tells the probes when it starts and
// ends. In place, so the services built over the same object are measured too; calls a repository makes
// to its own functions internally are not counted twice. Nothing is wrapped when no probe is installed
// (metrics and tracing both off), so the default costs nothing.
import type { FastifyInstance } from 'fastify'

/** Told that `operation` (`<repository>.<method>`) started; returns what to call when it ends. */
export type OperationProbe = (operation: string) => (error: unknown) => void

declare module 'fastify' {
  interface FastifyInstance {
    /** Installed by the metrics and tracing plugins before the repositories are built. */
    operationProbes: OperationProbe[]
  }
}

type AnyFunction = (...args: unknown[]) => unknown

const isThenable = (value: unknown): value is PromiseLike<unknown> =>
  value !== null && typeof value === 'object' && typeof (value as { then?: unknown }).then === 'function'

function probed (operation: string, fn: AnyFunction, probe: OperationProbe): AnyFunction {
  return function (this: unknown, ...args: unknown[]) {
    const end = probe(operation)
    let result: unknown
    try {
      result = fn.apply(this, args)
    } catch (err) {
      end(err)
      throw err
    }
    if (!isThenable(result)) {
      end(undefined)
      return result
    }
    // Ends when the promise settles: on PostgreSQL the time is spent there, not in the call.
    return Promise.resolve(result).then((value) => { end(undefined); return value }, (err: unknown) => { end(err); throw err })
  }
}

/** All probes as one (most calls have one or two). */
function combine (probes: OperationProbe[]): OperationProbe {
  if (probes.length === 1) return probes[0]!
  return (operation) => {
    const ends = probes.map((p) => p(operation))
    return (error) => { for (const end of ends) end(error) }
  }
}

/** The repositories wrapped so far (test/observability/metrics-sources.test.ts checks none is left out). */
export const instrumented = new WeakSet<object>()

/** Wraps every function-valued property of each named repository, labelled `<name>.<property>`. */
export function instrumentRepositories (app: FastifyInstance, repositories: Record<string, object>): void {
  if (app.operationProbes.length === 0) return
  const probe = combine(app.operationProbes)
  for (const [name, repository] of Object.entries(repositories)) {
    instrumented.add(repository)
    const methods = repository as Record<string, unknown>
    for (const key of Object.keys(methods)) {
      const value = methods[key]
      if (typeof value === 'function') methods[key] = probed(`${name}.${key}`, value as AnyFunction, probe)
    }
  }
}
