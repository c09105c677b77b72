import fsp from 'node:fs/promises'
import path from 'node:path'
import { z } from 'zod'
import { LatheError } from '../api/common/errors.js'
import { uploadPath } from '../api/index.js'
import type { EngineContext } from '../context.js'
import { plainRows, quoteIdent, quoteString, withConnection } from '../data/index.js'
import { recordFeedback, type FeedbackItem } from './feedback.js'

export const FeedbackFileInput = z
  .object({
    model: z.string().min(1),
    /** A CSV the engine can read (the CLI), or an upload id from `POST /api/v1/uploads` (the browser). */
    path: z.string().min(1).optional(),
    upload: z.string().min(1).optional(),
    /** The name the person knows the file by, for messages. */
    fileName: z.string().min(1).optional(),
    idColumn: z.string().min(1).default('request_id'),
    labelColumn: z.string().min(1).default('label'),
    rowColumn: z.string().min(1).default('row_index'),
  })
  .strict()
export type FeedbackFileInput = z.infer<typeof FeedbackFileInput>

export const FeedbackFileResult = z.object({
  model: z.string(),
  /** Label rows in the file. */
  rows: z.number().int(),
  /** Joined to a logged prediction and recorded. */
  recorded: z.number().int(),
  unknown: z.array(z.object({ request_id: z.string(), row_index: z.number().int() })),
})

const CHUNK = 10_000

/**
 * Late labels from a CSV file: DuckDB reads it (quoting, delimiters, encodings), every
 * field as text; the labels join the prediction log by request id in chunks of 10,000,
 * with a `monitoring.feedback.progress` event after each. A file with a bad line is
 * refused whole, before anything is recorded.
 */
export async function importFeedbackFile(ctx: EngineContext, input: FeedbackFileInput) {
  if ((input.path === undefined) === (input.upload === undefined)) {
    throw new LatheError('bad_request', 'give a path (a CSV file) or an upload id, not both', { field: 'file' })
  }
  const file = input.upload ? uploadPath(ctx.workspace.tmpDir, input.upload) : path.resolve(input.path!)
  const shown = input.fileName ?? path.basename(input.path ?? 'the file')
  try {
    const items = await readFeedbackCsv(ctx, file, shown, input)
    let recorded = 0
    const unknown: Array<{ request_id: string; row_index: number }> = []
    for (let i = 0; i < items.length; i += CHUNK) {
      const part = await recordFeedback(ctx, { model: input.model, items: items.slice(i, i + CHUNK) })
      recorded += part.recorded
      unknown.push(...part.unknown)
      ctx.events.emit('monitoring.feedback.progress', { model: input.model, done: Math.min(items.length, i + CHUNK), total: items.length, recorded })
    }
    return { model: input.model, rows: items.length, recorded, unknown }
  } finally {
    if (input.upload) await fsp.rm(file, { force: true })
  }
}

async function readFeedbackCsv(ctx: EngineContext, file: string, shown: string, input: FeedbackFileInput): Promise<FeedbackItem[]> {
  const source = `read_csv(${quoteString(file)}, all_varchar = true)`
  return withConnection(ctx, async (conn) => {
    let columns: string[]
    try {
      columns = plainRows(await conn.runAndReadAll(`DESCRIBE SELECT * FROM ${source}`)).map((r) => String(r.column_name))
    } catch (error) {
      const reason = ((error as Error).message.split('\n')[0] ?? '').replaceAll(file, shown)
      throw new LatheError('bad_request', `cannot read ${shown} as CSV: ${reason}`, { field: 'file' })
    }
    for (const [field, column] of [
      ['idColumn', input.idColumn],
      ['labelColumn', input.labelColumn],
    ] as const) {
      if (!columns.includes(column)) {
        throw new LatheError('bad_request', `${shown} has no column "${column}" (its columns: ${columns.join(', ')})`, { field })
      }
    }
    const row = columns.includes(input.rowColumn) ? quoteIdent(input.rowColumn) : "'0'"
    const rows = plainRows(
      await conn.runAndReadAll(`SELECT ${quoteIdent(input.idColumn)} AS id, ${quoteIdent(input.labelColumn)} AS label, ${row} AS row FROM ${source}`),
    )
    if (rows.length === 0) throw new LatheError('bad_request', `${shown} has no label rows`, { field: 'file' })
    return rows.map((r, i) => {
      const index = Number(r.row ?? 0)
      if (!r.id || r.label === null || !Number.isInteger(index) || index < 0) {
        throw new LatheError('bad_request', `${shown}: line ${i + 2} needs a request id, a label and a whole row number`, { field: 'file', line: i + 2 })
      }
      return { request_id: String(r.id), row_index: index, label: String(r.label) }
    })
  })
}
