import type { DuckDBConnection } from '@duckdb/node-api'
import { quoteIdent, quoteString } from '../data/index.js'
import type { FeatureColumn, Preprocessing, Task } from './types.js'

// The tests build their expectations with the same quoting.
export { quoteIdent }

/**
 * The data feed: a dataset version's split, read from its Parquet object by DuckDB
 * straight into typed arrays. Preprocessing (impute, standardize, category codes) is
 * learned on the training split and applied inside the same SQL query, so the only
 * per-row JavaScript is the copy of column vectors into typed arrays.
 *
 * A split is held compactly: the standardized numeric columns and, per categorical
 * column, the design-matrix column of the row's category (its one-hot position). The
 * dense design matrix (numeric columns, then one one-hot block per categorical column)
 * is never built for a whole split: training gathers kernel rows by those positions,
 * and prediction builds dense slices (`denseRows`). 200k flights rows with 449 design
 * columns take 2.4 MB instead of 287 MB.
 */

export interface FeedRequest {
  /** A query over the dataset version with the feature columns, the target, `__split` and `__row`. */
  sourceSql: string
  features: FeatureColumn[]
  target: string
  task: Task
}

export interface SplitArrays {
  rows: number
  /** Standardized numeric columns, row-major [rows, numeric columns]. */
  numeric: Float32Array
  /** Per row and categorical column, the design-matrix column set to 1 (slot 0 of a block: unknown), [rows, categorical columns]. */
  hot: Int32Array
  /** Classification: class index per row. Regression: the standardized target. */
  y: Float32Array
  /** Regression: the target in its own units (for metrics). */
  yRaw: Float32Array
}

export interface Feed {
  width: number
  preprocessing: Preprocessing
  train: SplitArrays
  validation: SplitArrays
  test: SplitArrays
  loadSeconds: number
  /**
   * Classification: target values of the validation and test splits that the training
   * split lacks, sorted. Their rows get class indices after the model's classes
   * (`classes.length + i`), so they count as wrong and keep a row in the confusion matrix.
   */
  unseenClasses: { validation: string[]; test: string[]; all: string[] }
}

const splitCodes = { train: 0, validation: 1, test: 2 } as const

function listLiteral(values: string[]): string {
  return values.length === 0 ? '[]::VARCHAR[]' : '[' + values.map(quoteString).join(', ') + ']'
}

/** Text of a categorical value as the ONNX graph will see it: NULL and '' are missing. */
function categoricalText(column: string): string {
  return `nullif(CAST(${quoteIdent(column)} AS VARCHAR), '')`
}

/** Learns preprocessing on the training split. */
async function learnPreprocessing(conn: DuckDBConnection, request: FeedRequest): Promise<Preprocessing> {
  const numeric = request.features.filter((f) => f.kind === 'numeric')
  const categorical = request.features.filter((f) => f.kind === 'categorical')
  const target = quoteIdent(request.target)
  const selects: string[] = ['count(*) AS n']
  numeric.forEach((f, i) => {
    const v = `CAST(${quoteIdent(f.name)} AS DOUBLE)`
    selects.push(
      `avg(${v}) FILTER (WHERE NOT isnan(${v})) AS m${i}`,
      `stddev_samp(${v}) FILTER (WHERE NOT isnan(${v})) AS s${i}`,
      `min(${v}) FILTER (WHERE isfinite(${v})) AS lo${i}`,
      `max(${v}) FILTER (WHERE isfinite(${v})) AS hi${i}`,
    )
  })
  categorical.forEach((f, i) => {
    const v = categoricalText(f.name)
    selects.push(`list_sort(list(DISTINCT ${v}) FILTER (WHERE ${v} IS NOT NULL)) AS c${i}`)
  })
  if (request.task === 'classification') {
    selects.push(`list_sort(list(DISTINCT CAST(${target} AS VARCHAR))) AS classes`)
  } else {
    selects.push(`avg(CAST(${target} AS DOUBLE)) AS tm`, `stddev_samp(CAST(${target} AS DOUBLE)) AS ts`)
  }
  const reader = await conn.runAndReadAll(`SELECT ${selects.join(', ')} FROM (${request.sourceSql}) WHERE __split = 'train' AND ${target} IS NOT NULL`)
  const row = reader.getRowObjectsJS()[0] as Record<string, unknown>
  if (Number(row.n) === 0) throw new Error('the training split has no rows with a target value')
  const num = (v: unknown, fallback: number) => (typeof v === 'number' && Number.isFinite(v) ? v : fallback)
  return {
    numeric: numeric.map((f, i) => {
      const std = num(row[`s${i}`], 1)
      // A constant column carries no signal; dividing by 1 keeps it finite.
      const range = typeof row[`lo${i}`] === 'number' && typeof row[`hi${i}`] === 'number' ? { min: row[`lo${i}`] as number, max: row[`hi${i}`] as number } : {}
      return { name: f.name, mean: num(row[`m${i}`], 0), std: std > 1e-12 ? std : 1, ...range }
    }),
    categorical: categorical.map((f, i) => ({ name: f.name, vocabulary: (row[`c${i}`] as string[] | null) ?? [] })),
    classes: request.task === 'classification' ? (row.classes as string[]) : null,
    targetScale: request.task === 'regression' ? { mean: num(row.tm, 0), std: num(row.ts, 1) > 1e-12 ? num(row.ts, 1) : 1 } : null,
    order: [...numeric.map((f) => f.name), ...categorical.map((f) => f.name)],
  }
}

export function designWidth(p: Preprocessing): number {
  return p.numeric.length + p.categorical.reduce((w, c) => w + c.vocabulary.length + 1, 0)
}

/** Reads every split into typed arrays. */
export async function loadFeed(request: FeedRequest, connection?: DuckDBConnection): Promise<Feed> {
  const started = performance.now()
  // DuckDB loads on first use, not when the CLI starts (~0.5 s of native loading).
  const instance = connection ? null : await (await import('@duckdb/node-api')).DuckDBInstance.create(':memory:', { threads: '2' })
  const conn = connection ?? (await instance!.connect())
  try {
    const p = await learnPreprocessing(conn, request)
    const target = quoteIdent(request.target)
    const cols: string[] = []
    for (const n of p.numeric) {
      const v = `CAST(${quoteIdent(n.name)} AS DOUBLE)`
      // Missing (NULL or NaN) is imputed with the training mean, which is 0 once standardized.
      cols.push(`CASE WHEN ${v} IS NULL OR isnan(${v}) THEN 0 ELSE (${v} - ${n.mean}) / ${n.std} END`)
    }
    for (const c of p.categorical) {
      cols.push(`CAST(coalesce(list_position(${listLiteral(c.vocabulary)}, ${categoricalText(c.name)}), 0) AS DOUBLE)`)
    }
    const unseenClasses = p.classes ? await classesTrainingLacks(conn, request, p.classes) : { validation: [], test: [], all: [] }
    if (p.classes) cols.push(`CAST(list_position(${listLiteral([...p.classes, ...unseenClasses.all])}, CAST(${target} AS VARCHAR)) - 1 AS DOUBLE)`)
    else cols.push(`CAST(${target} AS DOUBLE)`)
    cols.push(`CAST(CASE __split WHEN 'train' THEN 0 WHEN 'validation' THEN 1 ELSE 2 END AS DOUBLE)`)
    const sql = `SELECT ${cols.join(', ')} FROM (${request.sourceSql}) WHERE ${target} IS NOT NULL ORDER BY __row`

    const counts = await conn.runAndReadAll(`SELECT __split AS s, count(*) AS n FROM (${request.sourceSql}) WHERE ${target} IS NOT NULL GROUP BY ALL`)
    const perSplit = { train: 0, validation: 0, test: 0 }
    for (const r of counts.getRowObjectsJS() as Array<{ s: string; n: bigint | number }>) {
      if (r.s in perSplit) perSplit[r.s as keyof typeof perSplit] = Number(r.n)
    }
    const width = designWidth(p)
    const numericCount = p.numeric.length
    const blocks = p.categorical.length
    const make = (rows: number): SplitArrays => ({
      rows,
      numeric: new Float32Array(rows * numericCount),
      hot: new Int32Array(rows * blocks),
      y: new Float32Array(rows),
      yRaw: new Float32Array(rows),
    })
    const splits = [make(perSplit.train), make(perSplit.validation), make(perSplit.test)]
    const filled = [0, 0, 0]
    const offsets: number[] = []
    let offset = numericCount
    for (const c of p.categorical) {
      offsets.push(offset)
      offset += c.vocabulary.length + 1
    }
    const scale = p.targetScale

    const result = await conn.run(sql)
    for (;;) {
      const chunk = await result.fetchChunk()
      if (!chunk || chunk.rowCount === 0) break
      const vectors = Array.from({ length: chunk.columnCount }, (_, i) => columnValues(chunk.getColumnVector(i), chunk.rowCount))
      const splitColumn = vectors[vectors.length - 1]!
      const targetColumn = vectors[vectors.length - 2]!
      for (let r = 0; r < chunk.rowCount; r++) {
        const s = splitColumn[r]!
        const part = splits[s]!
        const i = filled[s]!++
        for (let j = 0; j < numericCount; j++) part.numeric[i * numericCount + j] = vectors[j]![r]!
        for (let j = 0; j < blocks; j++) part.hot[i * blocks + j] = offsets[j]! + vectors[numericCount + j]![r]!
        const t = targetColumn[r]!
        part.yRaw[i] = t
        part.y[i] = scale ? (t - scale.mean) / scale.std : t
      }
    }
    return {
      width,
      preprocessing: p,
      train: splits[splitCodes.train]!,
      validation: splits[splitCodes.validation]!,
      test: splits[splitCodes.test]!,
      loadSeconds: (performance.now() - started) / 1000,
      unseenClasses,
    }
  } finally {
    if (instance) {
      conn.closeSync()
      instance.closeSync()
    }
  }
}

/** Values of the target in the validation and test splits that the training split's classes lack. */
async function classesTrainingLacks(conn: DuckDBConnection, request: FeedRequest, classes: string[]): Promise<Feed['unseenClasses']> {
  const value = `CAST(${quoteIdent(request.target)} AS VARCHAR)`
  const reader = await conn.runAndReadAll(
    `SELECT __split AS s, list_sort(list(DISTINCT ${value})) AS v FROM (${request.sourceSql})
     WHERE __split <> 'train' AND ${value} IS NOT NULL AND NOT list_contains(${listLiteral(classes)}, ${value}) GROUP BY ALL`,
  )
  const out: Feed['unseenClasses'] = { validation: [], test: [], all: [] }
  for (const r of reader.getRowObjectsJS() as Array<{ s: string; v: string[] }>) {
    if (r.s === 'validation' || r.s === 'test') out[r.s] = r.v
  }
  out.all = [...new Set([...out.validation, ...out.test])].sort()
  return out
}

/** Rows [start, start + n) of a split as the dense design matrix, row-major [n, width]. */
export function denseRows(feed: Pick<Feed, 'width' | 'preprocessing'>, split: SplitArrays, start: number, n: number): Float32Array {
  const width = feed.width
  const k = feed.preprocessing.numeric.length
  const blocks = feed.preprocessing.categorical.length
  const out = new Float32Array(n * width)
  for (let r = 0; r < n; r++) {
    const row = start + r
    for (let j = 0; j < k; j++) out[r * width + j] = split.numeric[row * k + j]!
    for (let b = 0; b < blocks; b++) out[r * width + split.hot[row * blocks + b]!] = 1
  }
  return out
}

/**
 * A DOUBLE vector's values. The vector's Float64Array is not part of the public
 * API, so fall back to per-item reads if a DuckDB release renames it.
 */
function columnValues(vector: unknown, rows: number): Float64Array {
  const items = (vector as { items?: unknown }).items
  if (items instanceof Float64Array && items.length >= rows) return items
  const out = new Float64Array(rows)
  const v = vector as { getItem(i: number): number | null }
  for (let i = 0; i < rows; i++) out[i] = v.getItem(i) ?? 0
  return out
}
