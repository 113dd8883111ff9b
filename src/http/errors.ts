// Domain errors: thrown by repositories, services and routes; the error handler turns each into an
// RFC 9457 problem. `name` is the problem's short name, giving its type `/problems/<name>`.
export interface FieldError {
  in: 'body' | 'query' | 'path' | 'header'
  pointer: string
  message: string
}

export class HttpProblem extends Error {
  constructor (
    readonly status: number,
    readonly problem: string,
    readonly title: string,
    detail?: string,
    readonly errors?: FieldError[],
    readonly headers?: Record<string, string>
  ) {
    super(detail ?? title)
  }
}

export class NotFound extends HttpProblem {
  constructor (detail = 'No such resource, or you may not see it.') {
    super(404, 'not-found', 'Not Found', detail)
  }
}

export class Conflict extends HttpProblem {
  constructor (detail: string, problem = 'conflict', title = 'Conflict') {
    super(409, problem, title, detail)
  }
}

export class PreconditionFailed extends HttpProblem {
  constructor (detail = 'If-Match does not match the current ETag: the resource changed since you read it.') {
    super(412, 'precondition-failed', 'Precondition Failed', detail)
  }
}

export class Unauthorized extends HttpProblem {
  constructor (detail = 'This route needs a valid bearer token.') {
    super(401, 'unauthorized', 'Unauthorized', detail, undefined, { 'www-authenticate': 'Bearer realm="gazette"' })
  }
}

export class Forbidden extends HttpProblem {
  constructor (detail: string) {
    super(403, 'forbidden', 'Forbidden', detail)
  }
}

export class ValidationFailed extends HttpProblem {
  constructor (errors: FieldError[], detail = 'The request does not match the schema.') {
    super(422, 'validation', 'Validation Failed', detail, errors)
  }
}

/** One field's error, the usual case for a rule that a schema cannot express. */
export function invalid (where: FieldError['in'], pointer: string, message: string): ValidationFailed {
  return new ValidationFailed([{ in: where, pointer, message }], message)
}

/**
 * Thrown by a repository write, inside its transaction, when the row it was computed from has changed
 * since it was read (another request, maybe in another process, wrote in between): the transaction rolls
 * back, and the caller reads again and retries (`retryStale`). Should the row keep changing, this 409 is
 * what the client gets.
 */
export class StaleRead extends HttpProblem {
  constructor () {
    super(409, 'conflict', 'Conflict', 'The resource kept changing while this request was being applied; send it again.')
  }
}

/** How many times retryStale runs an attempt at most, by default. */
export const STALE_RETRIES = 5

/** Runs `attempt` (given its number, from 1) again while it fails with StaleRead, `times` times at most. */
export async function retryStale<T> (attempt: (n: number) => Promise<T>, times = STALE_RETRIES): Promise<T> {
  for (let n = 1; ; n++) {
    try {
      return await attempt(n)
    } catch (err) {
      if (!(err instanceof StaleRead) || n >= times) throw err
    }
  }
}
