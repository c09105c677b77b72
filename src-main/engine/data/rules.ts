import fsp from 'node:fs/promises'
import type { DuckDBConnection } from '@duckdb/node-api'
import { z } from 'zod'
import { LatheError } from '../api/common/errors.js'
import type { EngineContext } from '../context.js'
import { plainRows, withConnection } from './duck.js'
import { literal, quoteIdent, quoteString } from './sql.js'
import type { ColumnInfo, ValidationRecord } from './store.js'

const Column = z.string().min(1)
const Scalar = z.union([z.string(), z.number(), z.boolean()])

/** The rules a dataset can carry. Each is checked at every import of a new version. */
export const ValidationRule = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('column'), column: Column, type: z.string().optional() }),
  z.object({ kind: z.literal('not_null'), column: Column }),
  z.object({ kind: z.literal('range'), column: Column, min: z.number().optional(), max: z.number().optional() }),
  z.object({ kind: z.literal('allowed_values'), column: Column, values: z.array(Scalar).min(1) }),
  z.object({ kind: z.literal('unique'), column: Column }),
  z.object({ kind: z.literal('row_count'), min: z.number().int().min(0).optional(), max: z.number().int().min(0).optional() }),
  /** Every row must satisfy `predicate`, a DuckDB boolean expression over the columns. */
  z.object({ kind: z.literal('sql'), name: z.string().min(1), predicate: z.string().min(1) }),
])
export type ValidationRule = z.infer<typeof ValidationRule>

export const RuleResult = z.object({
  rule: ValidationRule,
  passed: z.boolean(),
  message: z.string(),
  failingRows: z.number(),
  /** Up to five failing rows; `__row` is the 0-based row number in the version (or request). */
  examples: z.array(z.record(z.string(), z.unknown())),
})
export type RuleResult = z.infer<typeof RuleResult>

const EXAMPLES = 5
const TYPE_ALIASES: Record<string, string> = { INT: 'INTEGER', TEXT: 'VARCHAR', STRING: 'VARCHAR', REAL: 'FLOAT', TIMESTAMPTZ: 'TIMESTAMP WITH TIME ZONE' }
const normalType = (t: string) => TYPE_ALIASES[t.trim().toUpperCase()] ?? t.trim().toUpperCase()

export function describeRule(rule: ValidationRule): string {
  switch (rule.kind) {
    case 'column':
      return `column "${rule.column}" exists${rule.type ? ` with type ${rule.type}` : ''}`
    case 'not_null':
      return `"${rule.column}" is never null`
    case 'range':
      return `"${rule.column}" is within [${rule.min ?? '-inf'}, ${rule.max ?? 'inf'}]`
    case 'allowed_values':
      return `"${rule.column}" is one of ${rule.values.map((v) => JSON.stringify(v)).join(', ')}`
    case 'unique':
      return `"${rule.column}" is unique`
    case 'row_count':
      return `row count is within [${rule.min ?? 0}, ${rule.max ?? 'inf'}]`
    case 'sql':
      return `${rule.name}: ${rule.predicate}`
  }
}

/** Refuses predicates that try to be more than one boolean expression. */
export function checkRuleShapes(rules: ValidationRule[]): void {
  rules.forEach((rule, i) => {
    if (rule.kind === 'sql' && /;|--|\/\*/.test(rule.predicate)) {
      throw new LatheError('bad_request', `rule ${i + 1} (${rule.name}): a predicate is one boolean expression, without ";" or comments`, {
        field: `rules.${i}.predicate`,
      })
    }
    if (rule.kind === 'range' && rule.min === undefined && rule.max === undefined) {
      throw new LatheError('bad_request', `rule ${i + 1}: a range rule needs min, max or both`, { field: `rules.${i}` })
    }
  })
}

/** SQL that is true for the rows breaking a rule (null when the rule is not per row). */
function failingRowsWhere(rule: ValidationRule, relation: string): string | null {
  switch (rule.kind) {
    case 'not_null':
      return `${quoteIdent(rule.column)} IS NULL`
    case 'range': {
      const c = quoteIdent(rule.column)
      const parts = [rule.min !== undefined ? `${c} < ${literal(rule.min)}` : null, rule.max !== undefined ? `${c} > ${literal(rule.max)}` : null]
      return `(${parts.filter(Boolean).join(' OR ')})`
    }
    case 'allowed_values':
      return `${quoteIdent(rule.column)} IS NOT NULL AND ${quoteIdent(rule.column)} NOT IN (${rule.values.map(literal).join(', ')})`
    case 'unique': {
      const c = quoteIdent(rule.column)
      return `${c} IN (SELECT ${c} FROM ${relation} WHERE ${c} IS NOT NULL GROUP BY ${c} HAVING count(*) > 1)`
    }
    case 'sql':
      return `NOT coalesce((${rule.predicate}), false)`
    default:
      return null
  }
}

/**
 * Checks rules against a relation (a parenthesised SELECT with a `__row` column)
 * whose columns are `columns`. A rule that cannot run (a bad predicate, a value of the
 * wrong type) fails with DuckDB's reason rather than aborting the others.
 */
export async function checkRules(
  connection: DuckDBConnection,
  relation: string,
  columns: ColumnInfo[],
  rowCount: number,
  rules: ValidationRule[],
): Promise<RuleResult[]> {
  const results: RuleResult[] = []
  for (const rule of rules) {
    const base = { rule, examples: [] as Array<Record<string, unknown>> }
    if (rule.kind === 'row_count') {
      const ok = (rule.min === undefined || rowCount >= rule.min) && (rule.max === undefined || rowCount <= rule.max)
      results.push({ ...base, passed: ok, failingRows: 0, message: `${describeRule(rule)}: ${rowCount} rows` })
      continue
    }
    if ('column' in rule) {
      const column = columns.find((c) => c.name === rule.column)
      if (!column) {
        results.push({ ...base, passed: false, failingRows: 0, message: `column "${rule.column}" is missing` })
        continue
      }
      if (rule.kind === 'column') {
        const ok = !rule.type || normalType(rule.type) === normalType(column.type)
        results.push({
          ...base,
          passed: ok,
          failingRows: 0,
          message: ok ? describeRule(rule) : `column "${rule.column}" is ${column.type}, expected ${rule.type}`,
        })
        continue
      }
    }
    const where = failingRowsWhere(rule, relation)!
    try {
      const count = Number((await connection.runAndReadAll(`SELECT count(*) FROM ${relation} WHERE ${where}`)).getRows()[0]![0])
      const examples = count ? plainRows(await connection.runAndReadAll(`SELECT * FROM ${relation} WHERE ${where} ORDER BY __row LIMIT ${EXAMPLES}`)) : []
      results.push({
        rule,
        passed: count === 0,
        failingRows: count,
        examples,
        message: count === 0 ? describeRule(rule) : `${count} of ${rowCount} rows break: ${describeRule(rule)}`,
      })
    } catch (error) {
      results.push({ ...base, passed: false, failingRows: 0, message: `could not check ${describeRule(rule)}: ${firstLine(error)}` })
    }
  }
  return results
}

export function summarize(results: RuleResult[]): ValidationRecord {
  if (results.length === 0) return { status: 'none', results: [] }
  return { status: results.every((r) => r.passed) ? 'passed' : 'failed', results }
}

export function parquetRelation(path: string): string {
  return `(SELECT * EXCLUDE (file_row_number), file_row_number::BIGINT AS __row FROM read_parquet(${quoteString(path)}, file_row_number = true))`
}

/**
 * Checks rows that are not (yet) a dataset version, e.g. a serving request, against
 * a dataset's rules. The rows go through DuckDB (a staged NDJSON file read back with
 * read_json), so a rule means exactly the same thing here as at import. `__row` in
 * the examples is the row's index in `rows`. `row_count` rules are skipped: they
 * describe a whole dataset, not a request.
 */
export async function checkRulesOnRows(ctx: EngineContext, rules: ValidationRule[], rows: Array<Record<string, unknown>>): Promise<RuleResult[]> {
  const perRow = rules.filter((r) => r.kind !== 'row_count')
  if (perRow.length === 0 || rows.length === 0) return []
  const staged = ctx.workspace.objects.stagingPath('.ndjson')
  await fsp.writeFile(staged, rows.map((row, i) => JSON.stringify({ ...row, __row: i })).join('\n'))
  try {
    return await withConnection(ctx, async (connection) => {
      const relation = `(SELECT * FROM read_json(${quoteString(staged)}, format = 'newline_delimited', records = true))`
      const described = plainRows(await connection.runAndReadAll(`DESCRIBE SELECT * EXCLUDE (__row) FROM ${relation}`))
      const columns = described.map((r) => ({ name: String(r.column_name), type: String(r.column_type) }))
      return checkRules(connection, relation, columns, rows.length, perRow)
    })
  } finally {
    await fsp.rm(staged, { force: true })
  }
}

export function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error)
  return (
    message
      .split('\n')
      .find((l) => l.trim() !== '')
      ?.trim() ?? message
  )
}
