import { createRequire } from 'node:module'
import type * as ort from 'onnxruntime-node'
import { LatheError } from '../api/common/errors.js'
import type { EngineContext } from '../context.js'
import { plainRows, withConnection } from '../data/index.js'
import { getDatasetVersionById } from '../data/index.js'
import { splitSelectSql } from '../data/index.js'
import { quoteIdent } from '../data/index.js'
import { SplitSpec } from '../data/index.js'
import type { VersionRow } from './store.js'
import type { Metrics } from './types.js'
import { scoreClassification, scoreRegression } from './upstream.js'

/** onnxruntime loads when a model is first run, not when the CLI starts. */
const onnxruntime = (): typeof ort => createRequire(import.meta.url)('onnxruntime-node')

const TEXT_PREFIX = '__text:'

export interface Evaluation {
  /** Rows of the evaluation data. */
  rows: number
  /** Per version, in the order given: metrics named `test.<metric>`. */
  metrics: Metrics[]
}

/**
 * Re-evaluates versions on one dataset version's test split, so their numbers are
 * comparable: the rows come from DuckDB over the Parquet object with the split spec
 * recorded by the candidate's run, and every version runs in onnxruntime on them.
 */
export async function evaluateOnTestSplit(ctx: EngineContext, on: VersionRow, versions: VersionRow[]): Promise<Evaluation> {
  if (!on.dataset || !on.split) {
    throw new LatheError('bad_request', `${on.model} v${on.version} has no recorded dataset and split to evaluate on`, { field: 'version' })
  }
  const target = on.signature.target
  const task = on.signature.task
  if (!target || !task) throw new LatheError('bad_request', `${on.model} v${on.version} does not say its task and target column`)
  const dataset = getDatasetVersionById(ctx, on.dataset.versionId)
  await ctx.workspace.objects.ensure(dataset.objectSha256)
  const split = SplitSpec.parse(on.split)
  // Text is read as DuckDB casts it, exactly as training fed labels and categories to the model;
  // rows without a target are left out, as training left them out of its test metrics.
  const present = new Set(dataset.columns.map((c) => c.name))
  if (!present.has(target)) throw new LatheError('bad_request', `${on.dataset.name}@${on.dataset.version} has no column "${target}" to score against`)
  const categorical = new Set(
    versions.flatMap((v) => (v.signature.columns ?? []).filter((c) => c.kind === 'categorical' && present.has(c.name)).map((c) => c.name)),
  )
  const extra = [
    task === 'classification' ? `CAST(${quoteIdent(target)} AS VARCHAR) AS __truth` : `${quoteIdent(target)} AS __truth`,
    ...[...categorical].map((name) => `CAST(${quoteIdent(name)} AS VARCHAR) AS ${quoteIdent(TEXT_PREFIX + name)}`),
  ]
  const rows = await withConnection(ctx, async (connection) =>
    plainRows(
      await connection.runAndReadAll(
        `SELECT *, ${extra.join(', ')} FROM (${splitSelectSql(split, dataset.path)}) WHERE __split = 'test' AND ${quoteIdent(target)} IS NOT NULL`,
      ),
    ),
  )
  if (rows.length === 0) throw new LatheError('bad_request', `the test split of ${on.dataset.name}@${on.dataset.version} is empty`)
  const truth = rows.map((r) => r.__truth)
  const metrics: Metrics[] = []
  for (const version of versions) {
    const scored = await scoreVersion(ctx, version, rows, truth)
    metrics.push(Object.fromEntries(Object.entries(scored).map(([k, v]) => [`test.${k}`, v])))
  }
  return { rows: rows.length, metrics }
}

/** Runs one version over rows of raw columns and scores it against the truth. */
async function scoreVersion(ctx: EngineContext, version: VersionRow, rows: Array<Record<string, unknown>>, truth: unknown[]): Promise<Metrics> {
  const { columns, inputs, task, classes } = version.signature
  if (!columns || !task) {
    throw new LatheError(
      'bad_request',
      `${version.model} v${version.version} is not a tabular model with named columns; it cannot be re-evaluated on a dataset`,
    )
  }
  const feeds: Record<string, ort.Tensor> = {}
  columns.forEach((column, i) => {
    const input = inputs[i]!
    if (!(column.name in rows[0]!)) {
      throw new LatheError('bad_request', `${version.model} v${version.version} needs column "${column.name}", which the evaluation data lacks`)
    }
    if (input.dtype === 'string') {
      const key = TEXT_PREFIX + column.name
      feeds[input.name] = new (onnxruntime().Tensor)(
        'string',
        rows.map((r) => (r[key] === null || r[key] === undefined ? '' : String(r[key]))),
        [rows.length, 1],
      )
    } else {
      const values = rows.map((r) => r[column.name])
      feeds[input.name] = new (onnxruntime().Tensor)(
        'float32',
        Float32Array.from(values, (v) => (v === null || v === undefined ? Number.NaN : Number(v))),
        [rows.length, 1],
      )
    }
  })
  const session = await onnxruntime().InferenceSession.create(await ctx.workspace.objects.ensure(version.onnxSha256))
  try {
    const out = await session.run(feeds)
    if (task === 'classification') {
      const probabilities = out['probabilities']
      if (!probabilities || !classes) throw new LatheError('bad_request', `${version.model} v${version.version} has no "probabilities" output or class list`)
      return scoreClassification(truth, probabilities.data as Float32Array, classes)
    }
    const prediction = out['prediction']
    if (!prediction) throw new LatheError('bad_request', `${version.model} v${version.version} has no "prediction" output`)
    return scoreRegression(truth, prediction.data as Float32Array)
  } finally {
    await session.release()
  }
}
