import { LatheError } from '../api/common/errors.js'
import type { EngineContext } from '../context.js'
import { findDataset, getVersion, getVersionById as findVersionById, latestVersion, type VersionRecord } from './store.js'
import type { ResolvedDatasetVersion } from './types.js'

/** `name` or `name@N` (`name@latest` too). Dataset names may not contain `@`. */
export function parseDatasetRef(ref: string): { name: string; version: number | null } {
  const at = ref.lastIndexOf('@')
  if (at < 0) return { name: ref.trim(), version: null }
  const name = ref.slice(0, at).trim()
  const v = ref.slice(at + 1).trim()
  if (v === 'latest') return { name, version: null }
  if (!/^\d+$/.test(v) || Number(v) < 1) {
    throw new LatheError('bad_request', `"${ref}" is not a dataset reference: write name or name@N with N a version number`, {
      field: 'dataset',
    })
  }
  return { name, version: Number(v) }
}

/** The version record (with lineage and options) a reference points to. */
export function findVersionRecord(ctx: EngineContext, ref: string): VersionRecord {
  const { name, version } = parseDatasetRef(ref)
  const db = ctx.workspace.db
  const dataset = findDataset(db, name)
  if (!dataset) throw new LatheError('not_found', `no dataset named "${name}" in this workspace`, { field: 'dataset' })
  const record = version === null ? latestVersion(db, dataset.id) : getVersion(db, dataset.id, version)
  if (!record) {
    const latest = latestVersion(db, dataset.id)
    throw new LatheError('not_found', `dataset "${name}" has no version ${version}${latest ? ` (latest is ${latest.version})` : ''}`, { field: 'dataset' })
  }
  return record
}

export function toResolved(ctx: EngineContext, record: VersionRecord): ResolvedDatasetVersion {
  return {
    datasetId: record.datasetId,
    name: record.name,
    version: record.version,
    versionId: record.id,
    objectSha256: record.objectSha256,
    path: ctx.workspace.objects.pathOf(record.objectSha256),
    rows: record.rows,
    columns: record.columns,
    validation: { status: record.validation.status },
  }
}

/**
 * What training, registry lineage and monitoring use to read a dataset version:
 * `ref` is `name` (its latest version) or `name@N`. Throws LatheError('not_found')
 * naming the dataset or version that is missing.
 */
export function resolveDatasetVersion(ctx: EngineContext, ref: string): ResolvedDatasetVersion {
  return toResolved(ctx, findVersionRecord(ctx, ref))
}

export function getDatasetVersionById(ctx: EngineContext, versionId: string): ResolvedDatasetVersion {
  const record = findVersionById(ctx.workspace.db, versionId)
  if (!record) throw new LatheError('not_found', `no dataset version with id ${versionId}`, { field: 'versionId' })
  return toResolved(ctx, record)
}

/**
 * For training and other consumers that must not learn from data that broke its
 * dataset's rules: a version whose validation failed is refused unless the caller
 * passes an explicit override (e.g. `--allow-invalid`), which it should record.
 */
export function requireValidDatasetVersion(version: ResolvedDatasetVersion, allowInvalid = false): ResolvedDatasetVersion {
  if (version.validation.status === 'failed' && !allowInvalid) {
    throw new LatheError(
      'conflict',
      `${version.name}@${version.version} failed validation (see lathe data validate ${version.name}@${version.version}); fix the data or pass an explicit override to use it anyway`,
      { field: 'dataset' },
    )
  }
  return version
}
