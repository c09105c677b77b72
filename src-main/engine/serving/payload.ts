import { LatheError } from '../api/common/errors.js'
import type { ColumnSpec, ModelSignature, TensorSpec } from '../api/common/signature.js'
import { noColumnRules, type ColumnRules } from './input-rules.js'
import { isNumericDtype, type FeedColumn, type InputBatch } from './loaded-model.js'

/**
 * Request bodies to validated input batches. Every mistake becomes a LatheError
 * naming the column, row or field, so the client can fix it; nothing here trusts
 * the shape of what arrived.
 */

export const MAX_ROWS_PER_REQUEST = 100_000
const MAX_NESTING = 8

const bad = (message: string, field?: string) => new LatheError('bad_request', message, field === undefined ? {} : { field })

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** MLflow's four payload shapes: `dataframe_split`, `dataframe_records`, `instances`, `inputs`. */
export function parseMlflowPayload(body: unknown, signature: ModelSignature, rules: ColumnRules = noColumnRules): InputBatch {
  if (!isRecord(body)) throw bad('the body must be a JSON object with one of dataframe_split, dataframe_records, instances or inputs', 'body')
  const keys = ['dataframe_split', 'dataframe_records', 'instances', 'inputs'].filter((k) => k in body)
  if (keys.length !== 1) {
    throw bad(
      keys.length === 0
        ? `the body needs one of dataframe_split, dataframe_records, instances or inputs (got ${Object.keys(body).slice(0, 5).join(', ') || 'an empty object'})`
        : `the body has ${keys.join(' and ')}; send exactly one`,
      'body',
    )
  }
  const key = keys[0]!
  const value = body[key]
  if (signature.columns) {
    const columns = signature.columns
    if (key === 'dataframe_split') return tabularFromSplit(value, signature, rules)
    if (key === 'dataframe_records') return tabularFromRecords(value, signature, key, rules)
    // instances / inputs: records, a column -> values object, or rows of values in column order.
    if (isRecord(value)) return tabularFromColumns(value, signature, key, rules)
    if (Array.isArray(value) && value.length > 0 && Array.isArray(value[0])) {
      return tabularFromSplit({ columns: columns.map((c) => c.name), data: value }, signature, rules, key)
    }
    // A one-column model may take a plain list of values, one per row.
    if (columns.length === 1 && Array.isArray(value) && value.length > 0 && !isRecord(value[0]) && !Array.isArray(value[0])) {
      return tabularFromColumns({ [columns[0]!.name]: value }, signature, key, rules)
    }
    return tabularFromRecords(value, signature, key, rules)
  }
  return tensorFromMlflow(key, value, signature)
}

function checkRowCount(n: number, field: string): void {
  if (n === 0) throw bad(`${field} is empty: send at least one row`, field)
  if (n > MAX_ROWS_PER_REQUEST) throw bad(`${field} has ${n} rows; at most ${MAX_ROWS_PER_REQUEST} per request`, field)
}

function tabularFromSplit(value: unknown, signature: ModelSignature, rules: ColumnRules, field = 'dataframe_split'): InputBatch {
  if (!isRecord(value)) throw bad(`${field} must be an object {"columns": [...], "data": [[...], ...]}`, field)
  const columnSpecs = signature.columns!
  const names = value.columns === undefined ? columnSpecs.map((c) => c.name) : value.columns
  if (!Array.isArray(names) || !names.every((n) => typeof n === 'string')) throw bad(`${field}.columns must be a list of column names`, `${field}.columns`)
  const data = value.data
  if (!Array.isArray(data)) throw bad(`${field}.data must be a list of rows`, `${field}.data`)
  checkRowCount(data.length, `${field}.data`)
  checkColumnNames(names as string[], signature, field)
  const position = new Map((names as string[]).map((n, i) => [n, i]))
  for (let r = 0; r < data.length; r++) {
    const row = data[r]
    if (!Array.isArray(row) || row.length !== names.length) {
      throw bad(`${field}.data row ${r} must be a list of ${names.length} values (one per column)`, `${field}.data[${r}]`)
    }
  }
  const rows = data as unknown[][]
  const batch = tabularBatch(
    rows.length,
    signature,
    rules,
    (column) => {
      const i = position.get(column.name)!
      return (r) => rows[r]![i]
    },
    () => rows.map((row) => Object.fromEntries((names as string[]).map((n, i) => [n, row[i] ?? null]))),
  )
  batch.recordJson = rowJson(names as string[], (r, i) => rows[r]![i])
  return batch
}

/**
 * A row's record as JSON, written from the payload's own arrays: what
 * `JSON.stringify(Object.fromEntries(names.map(...)))` gives, without the per-row
 * objects. Undefined where an object would order the keys differently (names that are
 * array indices come first in an object).
 */
function rowJson(names: string[], cell: (row: number, column: number) => unknown): ((row: number) => string) | undefined {
  if (names.some((n) => /^(0|[1-9]\d*)$/.test(n))) return undefined
  let keys: string[] | null = null
  return (r) => {
    keys ??= names.map((n, i) => `${i ? ',' : '{'}${JSON.stringify(n)}:`)
    if (keys.length === 0) return '{}'
    let out = ''
    for (let i = 0; i < keys.length; i++) out += keys[i]! + (JSON.stringify(cell(r, i) ?? null) ?? 'null')
    return `${out}}`
  }
}

function tabularFromRecords(value: unknown, signature: ModelSignature, field: string, rules: ColumnRules): InputBatch {
  if (!Array.isArray(value)) throw bad(`${field} must be a list of records ({"column": value, ...})`, field)
  checkRowCount(value.length, field)
  const known = new Set(signature.columns!.map((c) => c.name))
  for (let r = 0; r < value.length; r++) {
    const record = value[r]
    if (!isRecord(record)) throw bad(`${field}[${r}] must be an object of column -> value`, `${field}[${r}]`)
    for (const name of Object.keys(record)) {
      if (!known.has(name)) throw unknownColumn(name, signature)
    }
    for (const column of signature.columns!) {
      if (!(column.name in record)) throw bad(`row ${r} has no value for column "${column.name}"`, column.name)
    }
  }
  const records = value as Array<Record<string, unknown>>
  return tabularBatch(
    records.length,
    signature,
    rules,
    (column) => (r) => records[r]![column.name],
    () => records,
  )
}

function tabularFromColumns(value: Record<string, unknown>, signature: ModelSignature, field: string, rules: ColumnRules): InputBatch {
  checkColumnNames(Object.keys(value), signature, field)
  let n = -1
  for (const [name, values] of Object.entries(value)) {
    if (!Array.isArray(values)) throw bad(`${field}.${name} must be a list of values`, name)
    if (n === -1) n = values.length
    else if (values.length !== n) throw bad(`${field}: column "${name}" has ${values.length} values, others have ${n}`, name)
  }
  checkRowCount(n, field)
  const cols = value as Record<string, unknown[]>
  const batch = tabularBatch(
    n,
    signature,
    rules,
    (column) => (r) => cols[column.name]![r],
    () => Array.from({ length: n }, (_, r) => Object.fromEntries(Object.keys(cols).map((name) => [name, cols[name]![r] ?? null]))),
  )
  const names = Object.keys(cols)
  const arrays = names.map((name) => cols[name]!)
  batch.recordJson = rowJson(names, (r, i) => arrays[i]![r])
  return batch
}

function unknownColumn(name: string, signature: ModelSignature): LatheError {
  return bad(`unknown column "${name}"; the model takes ${signature.columns!.map((c) => c.name).join(', ')}`, name)
}

function checkColumnNames(names: string[], signature: ModelSignature, field: string): void {
  const known = new Set(signature.columns!.map((c) => c.name))
  const seen = new Set<string>()
  for (const name of names) {
    if (!known.has(name)) throw unknownColumn(name, signature)
    if (seen.has(name)) throw bad(`${field}: column "${name}" appears twice`, name)
    seen.add(name)
  }
  for (const column of signature.columns!) {
    if (!seen.has(column.name)) throw bad(`${field}: missing column "${column.name}"`, column.name)
  }
}

/** Checks every value against its column and lays the columns out as the session's [N,1] inputs. */
function tabularBatch(
  rows: number,
  signature: ModelSignature,
  rules: ColumnRules,
  reader: (column: ColumnSpec) => (row: number) => unknown,
  records: () => Array<Record<string, unknown>>,
): InputBatch {
  const feeds: FeedColumn[] = signature.columns!.map((column, i) => {
    const spec = signature.inputs[i]!
    const read = reader(column)
    const checks = rules.get(column.name)
    const values = new Array<unknown>(rows)
    for (let r = 0; r < rows; r++) {
      const raw = read(r)
      if (checks) {
        for (const check of checks) {
          const problem = check(raw)
          if (problem) throw bad(`column "${column.name}" in row ${r} ${problem}`, column.name)
        }
      }
      values[r] = checkCell(raw, column, spec, r)
    }
    return { spec, values, width: 1 }
  })
  return { rows, feeds, records }
}

function checkCell(value: unknown, column: ColumnSpec, spec: TensorSpec, row: number): unknown {
  if (value === null || value === undefined) {
    if (!column.nullable) throw bad(`column "${column.name}" is missing in row ${row} and the model does not accept missing values there`, column.name)
    return column.kind === 'numeric' ? NaN : ''
  }
  if (column.kind === 'numeric' || isNumericDtype(spec.dtype)) {
    if (typeof value === 'boolean') return value ? 1 : 0
    if (typeof value !== 'number') throw bad(`column "${column.name}" expects a number; row ${row} has ${describe(value)}`, column.name)
    const problem = numberProblem(value, spec.dtype)
    if (problem) throw bad(`column "${column.name}" in row ${row} ${problem}`, column.name)
    return value
  }
  if (typeof value !== 'string') throw bad(`column "${column.name}" expects text; row ${row} has ${describe(value)}`, column.name)
  return value
}

/** The largest finite float32. */
const FLOAT32_MAX = 3.4028234663852886e38

/**
 * Why a number cannot be fed as `dtype`, or null. JSON.parse turns 1e309 into Infinity;
 * a float32 input turns anything past ±3.4e38 into Infinity, and the model's answer
 * into NaN.
 */
export function numberProblem(value: number, dtype: string): string | null {
  if (!Number.isFinite(value)) return `is ${value}, not a finite number`
  if ((dtype === 'float32' || dtype === 'float') && Math.abs(value) > FLOAT32_MAX) return `is ${value}, outside the float32 range (±3.4e38) the model takes`
  if (dtype === 'float16' && Math.abs(value) > 65504) return `is ${value}, outside the float16 range (±65504) the model takes`
  return null
}

function describe(value: unknown): string {
  if (Array.isArray(value)) return 'a list'
  if (typeof value === 'object') return 'an object'
  if (typeof value === 'string') return `the text ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`
  return `${typeof value} ${String(value)}`
}

/** Imported models (no columns): `instances`/`inputs` hold a tensor, or name -> tensor per input. */
function tensorFromMlflow(key: string, value: unknown, signature: ModelSignature): InputBatch {
  const inputs = signature.inputs
  const rowsField = inputs[0]?.name ?? 'inputs'
  if (key === 'dataframe_records') throw bad('this model takes tensors, not records: send instances, inputs or dataframe_split', key)
  if (key === 'dataframe_split') {
    if (!isRecord(value) || !('data' in value)) throw bad('dataframe_split must be an object with "data"', key)
    value = value.data
  } else if (isRecord(value)) {
    const named = value
    return tensorBatch(
      signature,
      (spec) => {
        if (!(spec.name in named)) throw bad(`${key}: missing input "${spec.name}"`, spec.name)
        return flattenNested(named[spec.name], spec.name)
      },
      Object.keys(named),
      rowsField,
    )
  }
  if (inputs.length !== 1) {
    throw bad(`the model takes ${inputs.length} inputs (${inputs.map((i) => i.name).join(', ')}); send ${key} as {"name": tensor, ...}`, key)
  }
  return tensorBatch(signature, (spec) => flattenNested(value, spec.name), [inputs[0]!.name], rowsField)
}

/**
 * One feed per graph input, from `columnOf` (flat values and dimensions of that input),
 * after refusing names the model does not take; every input must have the same rows.
 */
function tensorBatch(
  signature: ModelSignature,
  columnOf: (spec: TensorSpec) => { values: unknown[]; dims: number[] },
  sentNames: Iterable<string>,
  rowsField: string,
): InputBatch {
  const known = new Set(signature.inputs.map((i) => i.name))
  for (const name of sentNames) if (!known.has(name)) throw bad(`unknown input "${name}"; the model takes ${[...known].join(', ')}`, name)
  let rows = -1
  const feeds = signature.inputs.map((spec) => {
    const { values, dims } = columnOf(spec)
    const feed = tensorColumn(spec, values, dims)
    if (rows === -1) rows = dims[0]!
    else if (dims[0] !== rows) throw bad(`input "${spec.name}" has ${dims[0]} rows, others have ${rows}`, spec.name)
    return feed
  })
  checkRowCount(rows, rowsField)
  return {
    rows,
    feeds,
    records: () =>
      Array.from({ length: rows }, (_, r) =>
        Object.fromEntries(feeds.map((f) => [f.spec.name, f.width === 1 ? f.values[r] : f.values.slice(r * f.width, (r + 1) * f.width)])),
      ),
  }
}

/** Checks a flat tensor against its spec: element type, and every fixed dimension. */
export function tensorColumn(spec: TensorSpec, values: unknown[], dims: number[]): FeedColumn {
  if (dims.length !== spec.shape.length) {
    // [N] for an [N,1] input is the common case of a flat list: accept it.
    const flatForColumn = dims.length === 1 && spec.shape.length === 2 && spec.shape[1] === 1
    if (!flatForColumn)
      throw bad(
        `input "${spec.name}" must have ${spec.shape.length} dimensions [${spec.shape.map((d) => d ?? 'N').join(', ')}], got [${dims.join(', ')}]`,
        spec.name,
      )
    dims = [dims[0]!, 1]
  }
  for (let d = 1; d < dims.length; d++) {
    const want = spec.shape[d]
    if (want !== null && want !== undefined && want !== dims[d]) {
      throw bad(`input "${spec.name}" dimension ${d} must be ${want}, got ${dims[d]}`, spec.name)
    }
  }
  const numeric = isNumericDtype(spec.dtype)
  for (let i = 0; i < values.length; i++) {
    const v = values[i]
    if (numeric ? typeof v !== 'number' : spec.dtype === 'string' ? typeof v !== 'string' : typeof v !== 'boolean') {
      if (numeric && v === null) throw bad(`input "${spec.name}" has null at element ${i}; this input does not accept missing values`, spec.name)
      throw bad(`input "${spec.name}" expects ${numeric ? 'numbers' : spec.dtype} elements; element ${i} is ${describe(v)}`, spec.name)
    }
    if (numeric) {
      const problem = numberProblem(v as number, spec.dtype)
      if (problem) throw bad(`input "${spec.name}" element ${i} ${problem}`, spec.name)
    }
  }
  const width = dims.slice(1).reduce((a, b) => a * b, 1)
  return { spec, values, width }
}

/** A nested JSON list to flat values and its dimensions; ragged or too deep lists are refused. */
export function flattenNested(value: unknown, field: string): { values: unknown[]; dims: number[] } {
  if (!Array.isArray(value)) throw bad(`input "${field}" must be a list (a tensor), got ${describe(value)}`, field)
  const dims: number[] = []
  let level: unknown = value
  while (Array.isArray(level)) {
    dims.push(level.length)
    if (dims.length > MAX_NESTING) throw bad(`input "${field}" is nested more than ${MAX_NESTING} levels deep`, field)
    level = level[0]
  }
  const values: unknown[] = []
  const walk = (node: unknown, depth: number) => {
    if (depth === dims.length) {
      if (Array.isArray(node)) throw bad(`input "${field}" is ragged: a list where a value belongs`, field)
      values.push(node)
      return
    }
    if (!Array.isArray(node) || node.length !== dims[depth])
      throw bad(`input "${field}" is ragged: every list at depth ${depth} must have ${dims[depth]} entries`, field)
    for (const child of node) walk(child, depth + 1)
  }
  walk(value, 0)
  return { values, dims }
}

/** Open Inference Protocol v2 datatypes and the element types they may feed. */
const v2Numeric = new Set(['FP16', 'FP32', 'FP64', 'INT8', 'INT16', 'INT32', 'INT64', 'UINT8', 'UINT16', 'UINT32', 'UINT64'])

export function v2Datatype(dtype: string): string {
  const map: Record<string, string> = {
    float32: 'FP32',
    float: 'FP32',
    float64: 'FP64',
    double: 'FP64',
    float16: 'FP16',
    int8: 'INT8',
    int16: 'INT16',
    int32: 'INT32',
    int64: 'INT64',
    uint8: 'UINT8',
    uint16: 'UINT16',
    uint32: 'UINT32',
    uint64: 'UINT64',
    string: 'BYTES',
    bool: 'BOOL',
    boolean: 'BOOL',
  }
  return map[dtype] ?? dtype.toUpperCase()
}

interface V2Tensor {
  name: string
  shape: number[]
  datatype: string
  values: unknown[]
}

function readV2Tensor(value: unknown, index: number): V2Tensor {
  const field = `inputs[${index}]`
  if (!isRecord(value)) throw bad(`${field} must be an object {"name", "shape", "datatype", "data"}`, field)
  const { name, shape, datatype, data } = value
  if (typeof name !== 'string' || !name) throw bad(`${field}.name must be the input's name`, `${field}.name`)
  if (!Array.isArray(shape) || shape.length === 0 || shape.length > MAX_NESTING || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
    throw bad(`input "${name}": shape must be a list of whole numbers, batch first`, name)
  }
  if (typeof datatype !== 'string') throw bad(`input "${name}": datatype must be one of BYTES, FP32, FP64, INT64, BOOL, ...`, name)
  const { values } = Array.isArray(data) && data.some(Array.isArray) ? flattenNested(data, name) : { values: data as unknown[] }
  if (!Array.isArray(values)) throw bad(`input "${name}": data must be a list`, name)
  const size = (shape as number[]).reduce((a, b) => a * b, 1)
  if (values.length !== size) throw bad(`input "${name}": shape [${shape.join(', ')}] holds ${size} values but data has ${values.length}`, name)
  return { name, shape: shape as number[], datatype: datatype.toUpperCase(), values }
}

function checkV2Datatype(tensor: V2Tensor, dtype: string): void {
  const want = v2Datatype(dtype)
  const ok = want === tensor.datatype || (v2Numeric.has(want) && v2Numeric.has(tensor.datatype))
  if (!ok) throw bad(`input "${tensor.name}" has datatype ${tensor.datatype}; the model expects ${want}`, tensor.name)
}

/** `{"inputs": [{"name", "shape", "datatype", "data"}, ...]}`: one tensor per column, or per graph input. */
export function parseV2Payload(body: unknown, signature: ModelSignature, rules: ColumnRules = noColumnRules): InputBatch {
  if (!isRecord(body)) throw bad('the body must be a JSON object with "inputs"', 'body')
  if (!Array.isArray(body.inputs) || body.inputs.length === 0) throw bad('"inputs" must be a non-empty list of tensors', 'inputs')
  const tensors = body.inputs.map(readV2Tensor)
  const byName = new Map<string, V2Tensor>()
  for (const t of tensors) {
    if (byName.has(t.name)) throw bad(`input "${t.name}" appears twice`, t.name)
    byName.set(t.name, t)
  }
  if (signature.columns) {
    checkColumnNames([...byName.keys()], signature, 'inputs')
    let rows = -1
    for (const [i, column] of signature.columns.entries()) {
      const t = byName.get(column.name)!
      checkV2Datatype(t, signature.inputs[i]!.dtype)
      const width = t.shape.slice(1).reduce((a, b) => a * b, 1)
      if (width !== 1) throw bad(`input "${t.name}" must be shaped [N] or [N, 1], got [${t.shape.join(', ')}]`, t.name)
      if (rows === -1) rows = t.shape[0]!
      else if (t.shape[0] !== rows) throw bad(`input "${t.name}" has ${t.shape[0]} rows, others have ${rows}`, t.name)
    }
    checkRowCount(rows, 'inputs')
    return tabularBatch(
      rows,
      signature,
      rules,
      (column) => {
        const values = byName.get(column.name)!.values
        return (r) => values[r]
      },
      () => Array.from({ length: rows }, (_, r) => Object.fromEntries(signature.columns!.map((c) => [c.name, byName.get(c.name)!.values[r] ?? null]))),
    )
  }
  return tensorBatch(
    signature,
    (spec) => {
      const t = byName.get(spec.name)
      if (!t) throw bad(`missing input "${spec.name}"`, spec.name)
      checkV2Datatype(t, spec.dtype)
      return { values: t.values, dims: t.shape }
    },
    byName.keys(),
    'inputs',
  )
}
