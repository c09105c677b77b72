import { LatheError } from '../../../../src-main/engine/api/common/errors.js'

/**
 * What a person reads when a call fails. A LatheError already carries a message they
 * can act on (plus the field or line it is about); anything else is the engine's own
 * fault, said as such rather than shown as a stack trace.
 */
export function describeError(error: unknown): { title: string; detail?: string } {
  if (error instanceof LatheError || isErrorBody(error)) {
    const where = [error.field && `field ${error.field}`, error.line !== undefined && `line ${error.line}`].filter(Boolean).join(', ')
    return { title: error.message, detail: where || undefined }
  }
  const message = error instanceof Error ? error.message : String(error)
  return { title: 'Internal error in the Lathe engine', detail: `${message} (see the engine log)` }
}

function isErrorBody(value: unknown): value is { message: string; field?: string; line?: number } {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as { name?: unknown }).name === 'LatheError' &&
    typeof (value as { message?: unknown }).message === 'string'
  )
}
