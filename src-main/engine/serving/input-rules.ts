import type { ModelSignature } from '../api/common/signature.js'

/**
 * The training dataset's validation rules that say something about a single value
 * (`not_null`, `range`, `allowed_values`), turned into checks serving runs on every
 * request cell. Rules about a whole table (`unique`, `row_count`, SQL predicates,
 * column types) have no meaning for one request and are left out.
 */
export type CellCheck = (value: unknown) => string | null

export type ColumnRules = ReadonlyMap<string, readonly CellCheck[]>

export const noColumnRules: ColumnRules = new Map()

type Rule =
  | { kind: 'not_null'; column: string }
  | { kind: 'range'; column: string; min?: number; max?: number }
  | { kind: 'allowed_values'; column: string; values: Array<string | number | boolean> }

function asRule(value: unknown): Rule | null {
  if (typeof value !== 'object' || value === null) return null
  const r = value as Record<string, unknown>
  if (typeof r.column !== 'string') return null
  if (r.kind === 'not_null') return { kind: 'not_null', column: r.column }
  if (r.kind === 'range' && (typeof r.min === 'number' || typeof r.max === 'number')) {
    return { kind: 'range', column: r.column, min: typeof r.min === 'number' ? r.min : undefined, max: typeof r.max === 'number' ? r.max : undefined }
  }
  if (r.kind === 'allowed_values' && Array.isArray(r.values))
    return { kind: 'allowed_values', column: r.column, values: r.values as Rule extends { values: infer V } ? V : never }
  return null
}

export function compileColumnRules(signature: ModelSignature, rules: readonly unknown[]): ColumnRules {
  const columns = new Set(signature.columns?.map((c) => c.name) ?? [])
  const out = new Map<string, CellCheck[]>()
  for (const raw of rules) {
    const rule = asRule(raw)
    if (!rule || !columns.has(rule.column)) continue
    const checks = out.get(rule.column) ?? []
    checks.push(checkFor(rule))
    out.set(rule.column, checks)
  }
  return out
}

function checkFor(rule: Rule): CellCheck {
  switch (rule.kind) {
    case 'not_null':
      return (v) => (v === null || v === undefined ? 'must not be missing (dataset rule not_null)' : null)
    case 'range':
      return (v) => {
        if (typeof v !== 'number') return null
        if (rule.min !== undefined && v < rule.min) return `is ${v}, below the dataset rule's minimum ${rule.min}`
        if (rule.max !== undefined && v > rule.max) return `is ${v}, above the dataset rule's maximum ${rule.max}`
        return null
      }
    case 'allowed_values': {
      const allowed = new Set(rule.values.map(String))
      const shown = rule.values
        .slice(0, 10)
        .map((x) => JSON.stringify(x))
        .join(', ')
      return (v) =>
        v === null || v === undefined || allowed.has(String(v))
          ? null
          : `is ${JSON.stringify(v)}, not one of the dataset rule's allowed values (${shown}${rule.values.length > 10 ? ', …' : ''})`
    }
  }
}
