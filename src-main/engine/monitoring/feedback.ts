import { z } from 'zod'
import { LatheError } from '../api/common/errors.js'
import type { EngineContext } from '../context.js'
import { predictionLogTable, queryRows, tableExists } from './monitorDb.js'

/** A true label for one logged row, by the request id serving returned. */
export const FeedbackItem = z.object({
  request_id: z.string().min(1),
  /** Which row of a batch request; 0 (the only row of a single-row request) when left out. */
  row_index: z.number().int().min(0).optional(),
  label: z.union([z.string(), z.number(), z.boolean()]),
})
export type FeedbackItem = z.infer<typeof FeedbackItem>

export const FeedbackInput = z.object({
  model: z.string().min(1),
  items: z.array(FeedbackItem).min(1).max(100_000),
})
export type FeedbackInput = z.infer<typeof FeedbackInput>

export const FeedbackResult = z.object({
  model: z.string(),
  recorded: z.number().int(),
  /** Items whose request id (and row) the prediction log does not hold for this model: not recorded. */
  unknown: z.array(z.object({ request_id: z.string(), row_index: z.number().int() })),
})
export type FeedbackResult = z.infer<typeof FeedbackResult>

/**
 * Joins late ground-truth labels to logged predictions by request id. Labels for rows
 * the log does not hold are reported back rather than dropped silently; a label sent
 * again for the same row replaces the earlier one (a correction).
 */
export async function recordFeedback(ctx: EngineContext, input: FeedbackInput): Promise<FeedbackResult> {
  const parsed = FeedbackInput.safeParse(input)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!
    throw new LatheError('bad_request', `feedback: ${issue.path.join('.') || 'input'}: ${issue.message}`, {
      field: issue.path.join('.'),
    })
  }
  const { model, items } = parsed.data
  // Last label wins within one upload too, so a single statement can insert them all.
  const byRow = new Map<string, { request_id: string; row_index: number; label: string }>()
  for (const item of items) {
    const row_index = item.row_index ?? 0
    byRow.set(`${item.request_id}\u0000${row_index}`, {
      request_id: item.request_id,
      row_index,
      label: JSON.stringify(item.label),
    })
  }
  const rows = [...byRow.values()]
  const conn = await ctx.workspace.monitor()
  const payload = JSON.stringify(rows)
  const itemsSql = `SELECT unnest(from_json(?::JSON, '[{"request_id":"VARCHAR","row_index":"INTEGER","label":"VARCHAR"}]'), recursive := true)`

  if (!(await tableExists(conn, predictionLogTable))) {
    return { model, recorded: 0, unknown: rows.map(({ request_id, row_index }) => ({ request_id, row_index })) }
  }
  const unknown = await queryRows<{ request_id: string; row_index: number }>(
    conn,
    `WITH items AS (${itemsSql})
     SELECT i.request_id, i.row_index FROM items i
     ANTI JOIN (SELECT DISTINCT request_id, row_index FROM prediction_log WHERE model = ?) p
       ON p.request_id = i.request_id AND p.row_index = i.row_index
     ORDER BY i.request_id, i.row_index`,
    [payload, model],
  )
  const inserted = await queryRows<{ Count: bigint }>(
    conn,
    `INSERT OR REPLACE INTO feedback (request_id, row_index, label, time)
     WITH items AS (${itemsSql})
     SELECT i.request_id, i.row_index, i.label::JSON, now() FROM items i
     SEMI JOIN (SELECT DISTINCT request_id, row_index FROM prediction_log WHERE model = ?) p
       ON p.request_id = i.request_id AND p.row_index = i.row_index`,
    [payload, model],
  )
  const recorded = Number(Object.values(inserted[0] ?? { n: 0 })[0] ?? 0)
  return {
    model,
    recorded,
    unknown: unknown.map((u) => ({ request_id: u.request_id, row_index: Number(u.row_index) })),
  }
}
