import { z } from 'zod'

/**
 * What other capabilities (training, registry lineage, monitoring) need from a
 * dataset version. Implemented by `resolveDatasetVersion` in `data/resolve.ts`.
 */
export interface ResolvedDatasetVersion {
  datasetId: string
  name: string
  /** 1, 2, 3... per dataset. */
  version: number
  /** Stable id of this version (unique across datasets). */
  versionId: string
  objectSha256: string
  /** Absolute path of the Parquet object, for DuckDB's read_parquet. */
  path: string
  rows: number
  columns: Array<{ name: string; type: string }>
  validation: { status: 'passed' | 'failed' | 'none' }
}

/**
 * A split is a spec, not a copy of the data: the same spec on the same version
 * always assigns every row to the same part. `splitSelectSql` in `data/splits.ts`
 * turns it into SQL.
 */
export const SplitSpec = z.object({
  method: z.enum(['random', 'stratified', 'time']).default('random'),
  seed: z.number().int().default(42),
  train: z.number().min(0).max(1).default(0.7),
  validation: z.number().min(0).max(1).default(0.15),
  test: z.number().min(0).max(1).default(0.15),
  /** The class column for `stratified`, the time column for `time`. */
  column: z.string().optional(),
})
export type SplitSpec = z.infer<typeof SplitSpec>
export type SplitPart = 'train' | 'validation' | 'test'
