import fs from 'node:fs/promises'
import { LatheError } from '../api/common/errors.js'
import type { EngineContext } from '../context.js'
import { importDatasetFile } from '../data/index.js'
import { resolveDatasetVersion } from '../data/index.js'
import type { RunRecord } from '../training/index.js'
import { ensureFeedbackTable, ident, literal, predictionLogTable, queryRows, tableExists } from './monitorDb.js'

/**
 * The newer dataset version continuous training learns from: the run's training
 * dataset version plus every logged row of the model that has a true label, the
 * inputs pulled out of the log and the label as the target column, each cast to the
 * dataset's own column types. Written to Parquet by DuckDB in staging and imported as
 * the next version of the same dataset (lineage and validation as any import).
 */
export async function datasetWithLabelledTraffic(
  ctx: EngineContext,
  run: RunRecord,
  model: string,
): Promise<{ ref: string; rows: number; addedRows: number }> {
  const base = resolveDatasetVersion(ctx, `${run.dataset.name}@${run.dataset.version}`)
  const conn = await ctx.workspace.monitor()
  if (!(await tableExists(conn, predictionLogTable))) {
    throw new LatheError('bad_request', `no traffic has been logged for ${model}, so there is no labelled traffic to add`, { field: 'dataset' })
  }
  await ensureFeedbackTable(conn)
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
    await conn.run(
      `COPY (SELECT * FROM read_parquet(${literal(base.path)}) UNION ALL BY NAME (${traffic})) TO ${literal(staged)} (FORMAT parquet)`,
    )
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
