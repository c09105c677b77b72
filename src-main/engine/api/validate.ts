import type { z } from 'zod'
import { LatheError } from './common/errors.js'

/** Parses with a zod schema; a failure becomes a LatheError naming the field. */
export function parseInput<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const result = schema.safeParse(value)
  if (result.success) return result.data
  const issue = result.error.issues[0]!
  const field = issue.path.map(String).join('.')
  const others = result.error.issues.length > 1 ? ` (and ${result.error.issues.length - 1} more problems)` : ''
  throw new LatheError('bad_request', `${what}: ${field ? `${field}: ` : ''}${issue.message}${others}`, {
    field: field || undefined,
    details: result.error.issues.map((i) => ({ path: i.path.map(String).join('.'), message: i.message })),
  })
}
