/**
 * The one error type for mistakes a person can fix: bad input, a missing dataset,
 * a workspace in use. It crosses every boundary as plain data (`LatheErrorBody`)
 * and is mapped once per transport: exit code 1 in the CLI, a 4xx over HTTP, a
 * toast in the UI. Anything that is not a LatheError is an internal error.
 *
 * Pure module: imported by the engine and by the renderer.
 */
export type LatheErrorCode = 'bad_request' | 'not_found' | 'conflict' | 'unauthorized' | 'forbidden' | 'too_large' | 'in_use' | 'unavailable'

const statusByCode: Record<LatheErrorCode, number> = {
  bad_request: 400,
  not_found: 404,
  conflict: 409,
  unauthorized: 401,
  forbidden: 403,
  too_large: 413,
  in_use: 409,
  unavailable: 503,
}

export interface LatheErrorBody {
  code: LatheErrorCode
  message: string
  /** The offending field, column or file, when there is one. */
  field?: string
  /** 1-based line of the offending input, when known. */
  line?: number
  details?: unknown
}

export class LatheError extends Error {
  readonly code: LatheErrorCode
  readonly field?: string
  readonly line?: number
  readonly details?: unknown

  constructor(code: LatheErrorCode, message: string, extra: Omit<LatheErrorBody, 'code' | 'message'> = {}) {
    super(message)
    this.name = 'LatheError'
    this.code = code
    this.field = extra.field
    this.line = extra.line
    this.details = extra.details
  }

  get status(): number {
    return statusByCode[this.code]
  }

  toBody(): LatheErrorBody {
    const body: LatheErrorBody = { code: this.code, message: this.message }
    if (this.field !== undefined) body.field = this.field
    if (this.line !== undefined) body.line = this.line
    if (this.details !== undefined) body.details = this.details
    return body
  }

  static fromBody(body: LatheErrorBody): LatheError {
    return new LatheError(body.code, body.message, body)
  }
}

export function isLatheError(error: unknown): error is LatheError {
  return error instanceof LatheError
}

export function httpStatusFor(code: LatheErrorCode): number {
  return statusByCode[code]
}
