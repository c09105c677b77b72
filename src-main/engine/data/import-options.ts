import { z } from 'zod'
import { LatheError } from '../api/common/errors.js'

/** Dataset names: what a person types after `--name`, safe in `name@V` references. */
export const DATASET_NAME_MAX = 100
const DATASET_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/

export function checkDatasetName(name: string, field = 'name'): string {
  if (name.trim() === '') throw new LatheError('bad_request', 'the dataset name is empty; give one with --name', { field })
  if (name.length > DATASET_NAME_MAX) {
    throw new LatheError('bad_request', `the dataset name is ${name.length} characters long; the limit is ${DATASET_NAME_MAX}`, { field })
  }
  if (!DATASET_NAME.test(name)) {
    throw new LatheError('bad_request', `dataset name "${name}" may only contain letters, digits, "_", "." and "-", and must start with a letter or digit`, {
      field,
    })
  }
  return name
}

export const ImportFormat = z.enum(['csv', 'tsv', 'json', 'ndjson', 'parquet'])
export type ImportFormat = z.infer<typeof ImportFormat>

/** The column types a person may force with `--type col=TYPE`. */
const OVERRIDE_TYPE =
  /^(VARCHAR|TEXT|STRING|BOOLEAN|TINYINT|SMALLINT|INTEGER|INT|BIGINT|HUGEINT|FLOAT|REAL|DOUBLE|DATE|TIME|TIMESTAMP|TIMESTAMPTZ|DECIMAL\(\s*\d+\s*,\s*\d+\s*\))$/i

export const ImportOptions = z.object({
  format: ImportFormat.optional(),
  /** CSV only; sniffed by DuckDB when absent. */
  delimiter: z.string().min(1).max(4).optional(),
  header: z.boolean().optional(),
  quote: z.string().length(1).optional(),
  escape: z.string().length(1).optional(),
  encoding: z.enum(['utf-8', 'utf-16', 'latin-1']).optional(),
  /** Column type overrides, e.g. { zip: 'VARCHAR' }. */
  types: z.record(z.string(), z.string()).optional(),
})
export type ImportOptions = z.infer<typeof ImportOptions>

export function checkTypeOverrides(types: Record<string, string> | undefined): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [column, type] of Object.entries(types ?? {})) {
    if (!OVERRIDE_TYPE.test(type.trim())) {
      throw new LatheError(
        'bad_request',
        `type "${type}" for column "${column}" is not one Lathe can apply; use VARCHAR, BIGINT, DOUBLE, BOOLEAN, DATE, TIMESTAMP or DECIMAL(p,s)`,
        { field: `types.${column}` },
      )
    }
    out[column] = type.trim().toUpperCase()
  }
  return out
}

export function formatFromFileName(fileName: string): ImportFormat | null {
  const lower = fileName.toLowerCase()
  if (lower.endsWith('.csv') || lower.endsWith('.txt')) return 'csv'
  if (lower.endsWith('.tsv') || lower.endsWith('.tab')) return 'tsv'
  if (lower.endsWith('.ndjson') || lower.endsWith('.jsonl')) return 'ndjson'
  if (lower.endsWith('.json')) return 'json'
  if (lower.endsWith('.parquet') || lower.endsWith('.pq')) return 'parquet'
  return null
}

export function formatFromContent(head: Buffer): ImportFormat {
  if (head.subarray(0, 4).toString('latin1') === 'PAR1') return 'parquet'
  const text = head.toString('utf8').trimStart()
  if (text.startsWith('[') || text.startsWith('{')) return 'json'
  return 'csv'
}

/** Options in a canonical form: same options, same key, whatever order they came in. */
export function optionsKeyOf(format: ImportFormat, options: ImportOptions, types: Record<string, string>): string {
  const sortedTypes = Object.fromEntries(Object.entries(types).sort(([a], [b]) => a.localeCompare(b)))
  return JSON.stringify({
    format,
    delimiter: options.delimiter ?? null,
    header: options.header ?? null,
    quote: options.quote ?? null,
    escape: options.escape ?? null,
    encoding: options.encoding ?? null,
    types: sortedTypes,
  })
}
