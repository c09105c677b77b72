import fs from 'node:fs/promises'
import { LatheError } from '../api/common/errors.js'
import type { EngineContext } from '../context.js'
import { getDatasetVersionById, importDatasetFile, resolveDatasetVersion } from '../data/index.js'
import { resolveModelVersion } from '../registry/index.js'
import type { RunRecord } from '../training/index.js'
import { hasLoggedTraffic, ident, literal, queryRows } from './monitorDb.js'

/** Logged rows of a model (answered) that have a true label. */
export async function labelledRowCount(ctx: EngineContext, model: string): Promise<number> {
  const conn = await ctx.workspace.monitor()
  if (!(await hasLoggedTraffic(conn, model))) return 0
  const [row] = await queryRows<{ n: bigint }>(
    conn,
    `SELECT count(*) AS n FROM prediction_log p JOIN feedback f ON f.request_id = p.request_id AND f.row_index = p.row_index
     WHERE p.model = ? AND p.status = 200 AND f.label IS NOT NULL`,
    [model],
  )
  return Number(row!.n)
}

/**
 * The newer dataset version continuous training learns from: the run's training
 * dataset version plus every logged row of the model that has a true label, the
 * inputs pulled out of the log and the label as the target column, each cast to the
 * dataset's own column types. Written to Parquet by DuckDB in staging and imported as
 * the next version of the same dataset (lineage and validation as any import).
 */
export async function datasetWithLabelledTraffic(ctx: EngineContext, run: RunRecord, model: string): Promise<{ ref: string; rows: number; addedRows: number }> {
  const base = resolveDatasetVersion(ctx, `${run.dataset.name}@${run.dataset.version}`)
  await ctx.workspace.objects.ensure(base.objectSha256)
  const conn = await ctx.workspace.monitor()
  if (!(await hasLoggedTraffic(conn, model))) {
    throw new LatheError('bad_request', `no traffic has been logged for ${model}, so there is no labelled traffic to add`, { field: 'dataset' })
  }
  const types = new Map(base.columns.map((c) => [c.name, c.type]))
  const select = run.features.map((f) => {
    const text = `json_extract_string(p.inputs, ${literal(`$."${f.name.replaceAll('"', '\\"')}"`)})`
    return `TRY_CAST(${text} AS ${types.get(f.name) ?? 'VARCHAR'}) AS ${ident(f.name)}`
  })
  select.push(`TRY_CAST(json_extract_string(f.label, '$') AS ${types.get(run.target) ?? 'VARCHAR'}) AS ${ident(run.target)}`)
  const traffic = `SELECT ${select.join(', ')} FROM prediction_log p
    JOIN feedback f ON f.request_id = p.request_id AND f.row_index = p.row_index
    WHERE p.model = ${literal(model)} AND p.status = 200 AND f.label IS NOT NULL`
  const [count] = await queryRows<{ n: bigint }>(conn, `SELECT count(*) AS n FROM (${traffic})`)
  const added = Number(count!.n)
  if (added === 0) {
    throw new LatheError('bad_request', `no logged row of ${model} has a label yet: send labels (feedback) before retraining on labelled traffic`, {
      field: 'dataset',
    })
  }
  const staged = ctx.workspace.objects.stagingPath('.parquet')
  try {
    // BY NAME: columns the traffic lacks (an id, a date) are null in the added rows.
    await conn.run(`COPY (SELECT * FROM read_parquet(${literal(base.path)}) UNION ALL BY NAME (${traffic})) TO ${literal(staged)} (FORMAT parquet)`)
    const { record } = await importDatasetFile(ctx, {
      name: base.name,
      file: staged,
      sourceName: `${base.name}@${base.version} + ${added} labelled rows of ${model}`,
      options: {},
    })
    return { ref: `${record.name}@${record.version}`, rows: record.rows, addedRows: added }
  } finally {
    await fs.rm(staged, { force: true })
  }
}

/**
 * A model's labelled traffic on its own, for a pipeline's `labelled_traffic` import:
 * the last `last` logged rows (newest first by time) that have a true label, as the
 * production version's feature columns plus the label as its target column, typed
 * like the data it was trained on. Written to Parquet in staging and imported as the
 * next version of dataset `name`; the same rows give back the same version.
 */
export async function labelledTrafficRows(
  ctx: EngineContext,
  request: { model: string; last?: number; name: string },
): Promise<{ dataset: string; version: number; versionId: string; rows: number; created: boolean }> {
  const production = resolveModelVersion(ctx, request.model, 'production')
  const columns = production.signature.columns
  const target = production.signature.target
  if (!columns || !target) {
    throw new LatheError(
      'bad_request',
      `${request.model} v${production.version} has no named feature columns and target (an imported graph): its traffic cannot become a dataset`,
      {
        field: 'labelled_traffic',
      },
    )
  }
  const trainedOn = production.datasetVersionId ? getDatasetVersionById(ctx, production.datasetVersionId) : null
  const types = new Map((trainedOn?.columns ?? []).map((c) => [c.name, c.type]))
  const conn = await ctx.workspace.monitor()
  if (!(await hasLoggedTraffic(conn, request.model))) {
    throw new LatheError('bad_request', `no traffic has been logged for ${request.model}, so there is no labelled traffic to import`, {
      field: 'labelled_traffic',
    })
  }
  const select = columns.map((c) => {
    const text = `json_extract_string(p.inputs, ${literal(`$."${c.name.replaceAll('"', '\\"')}"`)})`
    return `TRY_CAST(${text} AS ${types.get(c.name) ?? (c.kind === 'numeric' ? 'DOUBLE' : 'VARCHAR')}) AS ${ident(c.name)}`
  })
  select.push(`TRY_CAST(json_extract_string(f.label, '$') AS ${types.get(target) ?? 'VARCHAR'}) AS ${ident(target)}`)
  const traffic = `SELECT ${select.join(', ')} FROM prediction_log p
    JOIN feedback f ON f.request_id = p.request_id AND f.row_index = p.row_index
    WHERE p.model = ${literal(request.model)} AND p.status = 200 AND f.label IS NOT NULL
    ORDER BY p.time DESC, p.request_id, p.row_index${request.last ? ` LIMIT ${request.last}` : ''}`
  const [count] = await queryRows<{ n: bigint }>(conn, `SELECT count(*) AS n FROM (${traffic})`)
  if (Number(count!.n) === 0) {
    throw new LatheError('bad_request', `no logged row of ${request.model} has a label yet: send labels (feedback) first`, { field: 'labelled_traffic' })
  }
  const staged = ctx.workspace.objects.stagingPath('.parquet')
  try {
    await conn.run(`COPY (${traffic}) TO ${literal(staged)} (FORMAT parquet)`)
    const { record, created } = await importDatasetFile(ctx, {
      name: request.name,
      file: staged,
      sourceName: `labelled traffic of ${request.model}${request.last ? ` (last ${request.last})` : ''}`,
      options: {},
    })
    return { dataset: record.name, version: record.version, versionId: record.id, rows: record.rows, created }
  } finally {
    await fs.rm(staged, { force: true })
  }
}
