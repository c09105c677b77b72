import { invalid } from './wire.js'

/**
 * MLflow's search filter syntax (`mlflow/utils/search_utils.py`): clauses joined by
 * AND, each `<entity>.<key> <comparator> <value>`, where entity is metrics, params,
 * tags or attributes (and their singular or short forms), keys may be quoted with
 * backticks or double quotes, and values are numbers, quoted strings or a
 * parenthesised list for IN / NOT IN.
 */
export type Entity = 'metric' | 'param' | 'tag' | 'attribute'
export type Comparator = '=' | '!=' | '<' | '<=' | '>' | '>=' | 'LIKE' | 'ILIKE' | 'IN' | 'NOT IN' | 'IS NULL' | 'IS NOT NULL'

export interface Clause {
  entity: Entity
  key: string
  comparator: Comparator
  value: string | number | Array<string | number> | null
}

const entities: Record<string, Entity> = {
  metric: 'metric',
  metrics: 'metric',
  param: 'param',
  params: 'param',
  parameter: 'param',
  parameters: 'param',
  tag: 'tag',
  tags: 'tag',
  attribute: 'attribute',
  attributes: 'attribute',
  attr: 'attribute',
  run: 'attribute',
}

type Token = { kind: 'word' | 'string' | 'number' | 'op' | 'punct'; text: string }

function tokenize(filter: string): Token[] {
  const tokens: Token[] = []
  let i = 0
  while (i < filter.length) {
    const c = filter[i]!
    if (/\s/.test(c)) {
      i++
    } else if (c === "'" || c === '"' || c === '`') {
      const end = filter.indexOf(c, i + 1)
      if (end < 0) throw invalid(`Invalid filter '${filter}': unterminated ${c} quote at position ${i}`)
      tokens.push({ kind: c === '`' ? 'word' : 'string', text: filter.slice(i + 1, end) })
      // A double-quoted key after a dot (metrics."my key") is a name, not a value.
      if (c === '"' && tokens.at(-2)?.text === '.') tokens.at(-1)!.kind = 'word'
      i = end + 1
    } else if ('<>=!'.includes(c)) {
      const two = filter.slice(i, i + 2)
      const op = ['<=', '>=', '!=', '=='].includes(two) ? two : c
      if (op === '!') throw invalid(`Invalid filter '${filter}': unexpected '!' at position ${i}`)
      tokens.push({ kind: 'op', text: op === '==' ? '=' : op })
      i += op.length
    } else if ('(),.'.includes(c)) {
      // A dot inside a number stays with the number.
      if (c === '.' && /\d/.test(filter[i + 1] ?? '') && tokens.at(-1)?.kind !== 'word') {
        const m = /^\.\d+(?:[eE][+-]?\d+)?/.exec(filter.slice(i))!
        tokens.push({ kind: 'number', text: m[0] })
        i += m[0].length
      } else {
        tokens.push({ kind: 'punct', text: c })
        i++
      }
    } else if (/[-+\d]/.test(c)) {
      const m = /^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?/.exec(filter.slice(i))
      if (!m) throw invalid(`Invalid filter '${filter}': unexpected '${c}' at position ${i}`)
      tokens.push({ kind: 'number', text: m[0] })
      i += m[0].length
    } else if (/[\w]/.test(c)) {
      const m = /^[\w]+/.exec(filter.slice(i))!
      tokens.push({ kind: 'word', text: m[0] })
      i += m[0].length
    } else {
      throw invalid(`Invalid filter '${filter}': unexpected '${c}' at position ${i}`)
    }
  }
  return tokens
}

export function parseFilter(filter: string | undefined): Clause[] {
  if (!filter || !filter.trim()) return []
  const tokens = tokenize(filter)
  const clauses: Clause[] = []
  let i = 0
  const peek = (n = 0) => tokens[i + n]
  const fail = (why: string): never => {
    throw invalid(`Invalid filter '${filter}': ${why}`)
  }
  while (i < tokens.length) {
    // identifier: entity.key, or a bare attribute name
    const first = peek()
    if (!first || first.kind !== 'word') fail(`expected an identifier such as metrics.loss, found '${first?.text ?? 'the end'}'`)
    let entity: Entity = 'attribute'
    let key = first!.text
    i++
    if (peek()?.text === '.' && peek()?.kind === 'punct') {
      const mapped = entities[first!.text.toLowerCase()]
      if (!mapped) fail(`'${first!.text}' is not one of metrics, params, tags, attributes`)
      entity = mapped!
      i++
      const k = peek()
      if (!k || (k.kind !== 'word' && k.kind !== 'string')) fail(`expected a key after '${first!.text}.'`)
      key = k!.text
      i++
      // dotted keys without quotes: metrics.a.b
      while (peek()?.text === '.' && peek(1)?.kind === 'word') {
        key += `.${peek(1)!.text}`
        i += 2
      }
    }
    let comparator: Comparator
    const op = peek()
    if (!op) return fail(`no comparator after '${key}'`)
    if (op.kind === 'op') {
      comparator = op.text as Comparator
      i++
    } else if (op.kind === 'word') {
      const w = op.text.toUpperCase()
      if (w === 'LIKE' || w === 'ILIKE' || w === 'IN') {
        comparator = w
        i++
      } else if (w === 'NOT' && peek(1)?.text.toUpperCase() === 'IN') {
        comparator = 'NOT IN'
        i += 2
      } else if (w === 'IS') {
        const not = peek(1)?.text.toUpperCase() === 'NOT'
        if (peek(not ? 2 : 1)?.text.toUpperCase() !== 'NULL') fail(`expected NULL after IS`)
        comparator = not ? 'IS NOT NULL' : 'IS NULL'
        i += not ? 3 : 2
      } else {
        return fail(`'${op.text}' is not a comparator`)
      }
    } else {
      return fail(`'${op.text}' is not a comparator`)
    }
    let value: Clause['value'] = null
    if (comparator === 'IN' || comparator === 'NOT IN') {
      if (peek()?.text !== '(') fail(`expected a parenthesised list after ${comparator}`)
      i++
      const list: Array<string | number> = []
      while (peek() && peek()!.text !== ')') {
        const v = peek()!
        if (v.kind === 'string') list.push(v.text)
        else if (v.kind === 'number') list.push(Number(v.text))
        else fail(`'${v.text}' is not a value`)
        i++
        if (peek()?.text === ',') i++
      }
      if (peek()?.text !== ')') fail('unclosed list')
      i++
      value = list
    } else if (comparator !== 'IS NULL' && comparator !== 'IS NOT NULL') {
      const v = peek()
      if (!v || (v.kind !== 'string' && v.kind !== 'number')) fail(`expected a value after '${key} ${comparator}'`)
      value = v!.kind === 'number' ? Number(v!.text) : v!.text
      i++
    }
    if (entity === 'metric' && typeof value === 'string') fail(`metrics.${key} compares with a number, not the string '${value}'`)
    if ((entity === 'param' || entity === 'tag') && !['=', '!=', 'LIKE', 'ILIKE', 'IN', 'NOT IN', 'IS NULL', 'IS NOT NULL'].includes(comparator)) {
      fail(`${entity}s compare as strings: use =, !=, LIKE, ILIKE, IN or NOT IN, not ${comparator}`)
    }
    clauses.push({ entity, key, comparator, value })
    const next = peek()
    if (!next) break
    if (next.kind === 'word' && next.text.toUpperCase() === 'AND') {
      i++
      if (!peek()) fail('nothing after AND')
    } else {
      fail(next.text.toUpperCase() === 'OR' ? 'OR is not supported; join clauses with AND' : `expected AND, found '${next.text}'`)
    }
  }
  return clauses
}

function likeToRegExp(pattern: string, flags: string): RegExp {
  const body = pattern
    .replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
    .replace(/%/g, '.*')
    .replace(/_/g, '.')
  return new RegExp(`^${body}$`, flags)
}

/** Whether a value (null when the run has none) meets a clause. */
export function meets(clause: Clause, actual: string | number | null): boolean {
  if (clause.comparator === 'IS NULL') return actual === null
  if (clause.comparator === 'IS NOT NULL') return actual !== null
  if (actual === null) return false
  const v = clause.value
  switch (clause.comparator) {
    case 'IN':
      return (v as Array<string | number>).some((x) => String(x) === String(actual))
    case 'NOT IN':
      return !(v as Array<string | number>).some((x) => String(x) === String(actual))
    case 'LIKE':
      return likeToRegExp(String(v), '').test(String(actual))
    case 'ILIKE':
      return likeToRegExp(String(v), 'i').test(String(actual))
  }
  const a = typeof v === 'number' && typeof actual === 'string' && actual.trim() !== '' ? Number(actual) : actual
  const b = typeof actual === 'number' && typeof v === 'string' ? Number(v) : v
  if (typeof a === 'number' && Number.isNaN(a)) return false
  switch (clause.comparator) {
    case '=':
      return a === b
    case '!=':
      return a !== b
    case '<':
      return (a as number) < (b as number)
    case '<=':
      return (a as number) <= (b as number)
    case '>':
      return (a as number) > (b as number)
    case '>=':
      return (a as number) >= (b as number)
  }
  return false
}

export interface OrderBy {
  entity: Entity
  key: string
  ascending: boolean
}

/** `metrics.loss DESC`, `attributes.start_time`, `params.lr ASC`. */
export function parseOrderBy(items: string[]): OrderBy[] {
  return items.map((item) => {
    const m = /^\s*(?:(\w+)\.)?(`[^`]+`|"[^"]+"|[\w.\- :/]+?)\s*(ASC|DESC)?\s*$/i.exec(item)
    if (!m) throw invalid(`Invalid order_by clause '${item}': expected e.g. "metrics.loss DESC"`)
    const entity = m[1] ? entities[m[1].toLowerCase()] : 'attribute'
    if (!entity) throw invalid(`Invalid order_by clause '${item}': '${m[1]}' is not one of metrics, params, tags, attributes`)
    return { entity, key: m[2]!.replace(/^[`"]|[`"]$/g, ''), ascending: (m[3] ?? 'ASC').toUpperCase() === 'ASC' }
  })
}

/** For sorting: nulls last, numbers by value, anything else as text. */
export function compareValues(a: string | number | null, b: string | number | null): number {
  if (a === b) return 0
  if (a === null) return 1
  if (b === null) return -1
  if (typeof a === 'number' && typeof b === 'number') return a - b
  return String(a) < String(b) ? -1 : 1
}
