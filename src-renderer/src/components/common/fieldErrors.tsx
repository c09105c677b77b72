import { LatheError } from '../../../../src-main/engine/api/common/errors.js'

export interface FormErrors {
  /** A sentence per form field that the error is about. */
  byField: Record<string, string>
  /** The error when it is about none of the form's fields (shown above the form). */
  rest: unknown
}

/**
 * Places a failed call's error next to the fields it is about: the engine names the
 * field (`params.epochs`) and, for a schema failure, every problem in `details`.
 * Fields match exactly or by prefix (`params.hidden` covers `params.hidden.0`).
 */
export function formErrors(error: unknown, fields: string[]): FormErrors {
  if (!error) return { byField: {}, rest: null }
  const byField: Record<string, string> = {}
  // zod's own integer bounds (±2^53) say less than the schema's: they go last.
  const problems = issuesOf(error).sort((a, b) => Number(a.message.includes('9007199254740991')) - Number(b.message.includes('9007199254740991')))
  for (const { path, message } of problems) {
    const field = fields.find((f) => path === f || path.startsWith(`${f}.`))
    if (field && !byField[field]) byField[field] = sentence(message)
  }
  return { byField, rest: Object.keys(byField).length ? null : error }
}

function issuesOf(error: unknown): Array<{ path: string; message: string }> {
  if (!(error instanceof LatheError) || !error.field) return []
  const details = Array.isArray(error.details) ? (error.details as Array<{ path?: unknown; message?: unknown }>) : []
  const listed = details.filter((d) => typeof d.path === 'string' && typeof d.message === 'string') as Array<{ path: string; message: string }>
  if (listed.length) return listed
  // A handler's own error: its message is already a sentence; drop an "operation: field:" prefix.
  return [{ path: error.field, message: error.message.replace(/^[\w.]+: (?:[\w.]+: )?/, '') }]
}

/** A zod message as a person would say it ("Too small: expected number to be >=1" -> "must be at least 1"). */
export function sentence(message: string): string {
  const rules: Array<[RegExp, (m: RegExpMatchArray) => string]> = [
    [/expected number, received NaN/, () => 'must be a number'],
    [/Too small: expected (?:number|int) to be >=(\S+)/, (m) => `must be at least ${m[1]}`],
    [/Too small: expected (?:number|int) to be >(\S+)/, (m) => `must be more than ${m[1]}`],
    [/Too big: expected (?:number|int) to be <=(\S+)/, (m) => `must be at most ${m[1]}`],
    [/Too big: expected (?:number|int) to be <(\S+)/, (m) => `must be less than ${m[1]}`],
    [/Too small: expected string to have >=1 characters?/, () => 'cannot be empty'],
    [/Too small: expected string to have >=(\d+) characters/, (m) => `needs at least ${m[1]} characters`],
    [/Too big: expected string to have <=(\d+) characters/, (m) => `has at most ${m[1]} characters`],
    [/Too small: expected array to have >=(\d+) items?/, (m) => `needs at least ${m[1]}`],
    [/Invalid input: expected int, received number/, () => 'must be a whole number'],
    [/Invalid input: expected (\w+), received (\w+)/, (m) => `must be a ${m[1]}`],
    [/Invalid option: expected one of (.+)/, (m) => `must be one of ${m[1]!.replaceAll('"', '').split('|').join(', ')}`],
    [/Unrecognized key/, () => 'is not a known option'],
  ]
  for (const [pattern, say] of rules) {
    const m = message.match(pattern)
    if (m) return say(m)
  }
  return message
}

/** One field's problem, under the field. */
export function FieldError({ message }: { message?: string }) {
  if (!message) return null
  return (
    <span className="field-error" role="alert">
      {message}
    </span>
  )
}
