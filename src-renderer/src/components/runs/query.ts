import type { Contract } from '../../../../src-main/engine/contract.js'

// From the contract, not from api.ts: this module is pure and its tests run in Node.
// A run as the list answers it (no confusion matrix): the filter works on what the list holds.
export type RunRecord = Contract['training.runs.list']['output']['runs'][number]

/**
 * The Runs filter, in the manner of MLflow's search: clauses joined by `and`, each
 * `field op value`, e.g. `metrics.accuracy > 0.8 and params.lr = 0.01 and tag = baseline`.
 *   metrics.NAME             a test metric (metrics.validation.NAME for the validation split)
 *   params.NAME              a training parameter (lr, batch and hidden are short names)
 *   tag                      one of the run's tags (= or != a tag, ~ part of one)
 *   status, dataset, target, model, name, id
 * Operators: = != > >= < <= and ~ (contains). Strings may be quoted. Text with no
 * operator at all is a plain search over id, name, dataset and target.
 */
export type Op = '=' | '!=' | '>' | '>=' | '<' | '<=' | '~'
export interface Clause {
  field: string
  op: Op
  value: string | number
}
export type RunQuery = { kind: 'text'; text: string } | { kind: 'clauses'; clauses: Clause[] }

export class QueryError extends Error {}

const paramAliases: Record<string, string> = { lr: 'learningRate', learning_rate: 'learningRate', batch: 'batchSize', batch_size: 'batchSize' }
const plainFields = ['status', 'dataset', 'target', 'model', 'name', 'id', 'tag']
const clausePattern = /^\s*([A-Za-z_][\w.]*)\s*(!=|>=|<=|=|>|<|~)\s*("[^"]*"|'[^']*'|[^\s]+)\s*$/

export function parseRunQuery(text: string): RunQuery {
  const trimmed = text.trim()
  if (!trimmed) return { kind: 'clauses', clauses: [] }
  if (!/(!=|>=|<=|=|>|<|~)/.test(trimmed)) return { kind: 'text', text: trimmed.toLowerCase() }
  const parts = trimmed.split(/\s+and\s+/i)
  const clauses = parts.map((part, i) => {
    const m = clausePattern.exec(part)
    if (!m) throw new QueryError(`Clause ${i + 1} ("${part.trim()}") is not "field op value", for example "metrics.accuracy > 0.8".`)
    const [, field, op, raw] = m as unknown as [string, string, Op, string]
    if (!plainFields.includes(field) && !/^(metrics|params)\.[\w.]+$/.test(field)) {
      throw new QueryError(`Clause ${i + 1}: "${field}" is not a field. Use metrics.NAME, params.NAME, tag, status, dataset, target, model, name or id.`)
    }
    const unquoted = /^["']/.test(raw) ? raw.slice(1, -1) : raw
    const number = Number(unquoted)
    const value = /^["']/.test(raw) || unquoted === '' || !Number.isFinite(number) ? unquoted : number
    if ((op === '>' || op === '>=' || op === '<' || op === '<=') && typeof value !== 'number') {
      throw new QueryError(`Clause ${i + 1}: "${op}" compares numbers, and "${unquoted}" is not one.`)
    }
    return { field, op, value }
  })
  return { kind: 'clauses', clauses }
}

/** The value a clause's field has on a run (undefined: the run does not have it). */
export function fieldValue(run: RunRecord, field: string): unknown {
  if (field.startsWith('metrics.')) {
    const rest = field.slice(8)
    if (rest.startsWith('validation.')) return run.metrics?.validation[rest.slice(11)]
    if (rest.startsWith('test.')) return run.metrics?.test[rest.slice(5)]
    return run.metrics?.test[rest]
  }
  if (field.startsWith('params.')) {
    const name = field.slice(7)
    const value = (run.params as Record<string, unknown>)[paramAliases[name] ?? name]
    return Array.isArray(value) ? value.join(',') : value
  }
  switch (field) {
    case 'status':
      return run.status
    case 'dataset':
      return `${run.dataset.name}@${run.dataset.version}`
    case 'target':
      return run.target
    case 'model':
      return run.modelFamily
    case 'name':
      return run.name
    case 'id':
      return run.id
    default:
      return undefined
  }
}

function compare(actual: unknown, op: Op, expected: string | number): boolean {
  if (actual === undefined || actual === null) return op === '!='
  if (typeof expected === 'number' && typeof actual === 'number') {
    switch (op) {
      case '=':
        return actual === expected
      case '!=':
        return actual !== expected
      case '>':
        return actual > expected
      case '>=':
        return actual >= expected
      case '<':
        return actual < expected
      case '<=':
        return actual <= expected
      case '~':
        return String(actual).includes(String(expected))
    }
  }
  const a = String(actual).toLowerCase()
  const e = String(expected).toLowerCase()
  // "dataset = weather" matches weather@2 too.
  if (op === '=') return a === e || a.split('@')[0] === e
  if (op === '!=') return a !== e && a.split('@')[0] !== e
  if (op === '~') return a.includes(e)
  return false
}

export function matchesRun(run: RunRecord, query: RunQuery): boolean {
  if (query.kind === 'text')
    return `${run.id} ${run.name ?? ''} ${run.dataset.name} ${run.target} ${run.modelFamily} ${(run.tags ?? []).join(' ')}`.toLowerCase().includes(query.text)
  return query.clauses.every((c) => {
    if (c.field === 'tag') {
      const tags = (run.tags ?? []).map((t) => t.toLowerCase())
      const e = String(c.value).toLowerCase()
      if (c.op === '=') return tags.includes(e)
      if (c.op === '!=') return !tags.includes(e)
      if (c.op === '~') return tags.some((t) => t.includes(e))
      return false
    }
    return compare(fieldValue(run, c.field), c.op, c.value)
  })
}

/** Metric names that no run has: most likely a typo, said with the names that exist. */
export function unknownMetrics(runs: readonly RunRecord[], query: RunQuery): string | null {
  if (query.kind !== 'clauses' || runs.length === 0) return null
  const known = new Set(runs.flatMap((r) => Object.keys(r.metrics?.test ?? {})))
  for (const c of query.clauses) {
    if (!c.field.startsWith('metrics.')) continue
    const name = c.field.replace(/^metrics\.(test\.|validation\.)?/, '')
    if (!known.has(name)) return `No run has a metric "${name}". Metrics: ${[...known].sort().join(', ') || 'none yet (no run has finished)'}.`
  }
  return null
}
