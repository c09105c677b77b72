import fsp from 'node:fs/promises'
import path from 'node:path'
import { z } from 'zod'
import { LatheError } from '../api/common/errors.js'
import type { EngineContext } from '../context.js'
import { findDatasetDependents, type DatasetDependent } from './dependents.js'
import { findVersionRecord, parseDatasetRef } from './resolve.js'
import { childrenOf, deleteVersions, findDataset, getVersionById, listVersions, setArchived, type VersionRecord } from './store.js'

export const Dependent = z.object({
  /** `name@V` of the version depended on. */
  version: z.string(),
  kind: z.enum(['run', 'model version', 'monitor', 'alert rule', 'dataset version']),
  id: z.string(),
  label: z.string(),
})

export const DependentsView = z.object({
  dataset: z.string(),
  /** The version asked about, or null for the whole dataset. */
  version: z.number().nullable(),
  versions: z.array(z.object({ version: z.number(), archived: z.boolean() })),
  dependents: z.array(Dependent),
  /** Nothing outside what would be removed depends on it: it can be deleted; otherwise it can only be archived. */
  deletable: z.boolean(),
})
export type DependentsView = z.infer<typeof DependentsView>

/** `name` means the dataset and every version of it; `name@V` one version. */
function targetOf(ctx: EngineContext, ref: string) {
  const { name, version } = parseDatasetRef(ref)
  const dataset = findDataset(ctx.workspace.db, name)
  if (!dataset) throw new LatheError('not_found', `no dataset named "${name}" in this workspace`, { field: 'dataset' })
  if (version === null && !ref.includes('@')) return { dataset, whole: true, versions: listVersions(ctx.workspace.db, dataset.id) }
  return { dataset, whole: false, versions: [findVersionRecord(ctx, ref)] }
}

/** What names these versions from outside them: derived versions of other data, runs, models, monitors. */
function dependentsOf(ctx: EngineContext, versions: VersionRecord[]): DatasetDependent[] {
  const ids = new Set(versions.map((v) => v.id))
  const derived: DatasetDependent[] = versions.flatMap((v) =>
    childrenOf(ctx.workspace.db, v.id)
      .filter((child) => !ids.has(child))
      .map((child) => getVersionById(ctx.workspace.db, child))
      .filter((child): child is VersionRecord => child !== null)
      .map((child) => ({ versionId: v.id, kind: 'dataset version' as const, id: child.id, label: `${child.name}@${child.version} (derived by SQL)` })),
  )
  return [...derived, ...findDatasetDependents(ctx, versions)]
}

export function describeDependents(ctx: EngineContext, ref: string): DependentsView {
  const { dataset, whole, versions } = targetOf(ctx, ref)
  const byId = new Map(versions.map((v) => [v.id, v]))
  const dependents = dependentsOf(ctx, versions).map((d) => ({
    version: `${dataset.name}@${byId.get(d.versionId)?.version ?? '?'}`,
    kind: d.kind,
    id: d.id,
    label: d.label,
  }))
  return {
    dataset: dataset.name,
    version: whole ? null : versions[0]!.version,
    versions: versions.map((v) => ({ version: v.version, archived: v.archivedAt !== null })),
    dependents,
    deletable: dependents.length === 0,
  }
}

/**
 * Deletes a version, or a whole dataset, that nothing depends on: the rows go in one
 * transaction, then each object no other version shares is moved to tmp/ and removed.
 * A process killed between the two leaves an unreferenced object (space, not data).
 * Anything depended on is refused with the list, and archiving suggested.
 */
export async function deleteDatasetRef(ctx: EngineContext, ref: string) {
  const view = describeDependents(ctx, ref)
  const { dataset, whole, versions } = targetOf(ctx, ref)
  const what = whole ? `dataset "${dataset.name}"` : `${dataset.name}@${versions[0]!.version}`
  if (!view.deletable) {
    const listed = view.dependents.slice(0, 5).map((d) => `${d.label} uses ${d.version}`)
    const more = view.dependents.length > 5 ? ` and ${view.dependents.length - 5} more` : ''
    throw new LatheError(
      'conflict',
      `cannot delete ${what}: ${listed.join('; ')}${more}. Archive it instead (lathe data archive ${ref}): it is hidden from lists and stays readable for that lineage`,
      { field: 'dataset', details: { dependents: view.dependents } },
    )
  }
  const unused = deleteVersions(ctx.workspace.db, ctx.actor, { datasetId: dataset.id, versions, dataset: whole })
  for (const sha of unused) {
    const object = ctx.workspace.objects.pathOf(sha)
    const trash = path.join(ctx.workspace.tmpDir, `deleted-${sha}`)
    try {
      await fsp.rename(object, trash)
      await fsp.rm(trash, { force: true })
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
    }
  }
  ctx.events.emit('data.changed', { dataset: dataset.name, change: 'deleted' })
  return { dataset: dataset.name, deleted: versions.map((v) => v.version), datasetDeleted: whole, objectsRemoved: unused.length }
}

/** Archives (or restores) a version, or a dataset with all its versions. */
export function archiveDatasetRef(ctx: EngineContext, ref: string, restore: boolean) {
  const { dataset, whole, versions } = targetOf(ctx, ref)
  setArchived(ctx.workspace.db, ctx.actor, { datasetId: dataset.id, versionIds: versions.map((v) => v.id), dataset: whole, archived: !restore })
  ctx.events.emit('data.changed', { dataset: dataset.name, change: restore ? 'restored' : 'archived' })
  return { dataset: dataset.name, versions: versions.map((v) => v.version), archived: !restore, wholeDataset: whole }
}
