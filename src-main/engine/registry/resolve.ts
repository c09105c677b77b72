import { LatheError } from '../api/common/errors.js'
import type { ModelSignature } from '../api/common/signature.js'
import type { EngineContext } from '../context.js'
import { aliasesOfVersion, getAlias, getModel, getVersion, listAliases, type ModelRow, type VersionRow } from './store.js'
import type { Metrics } from './types.js'

/** What serving (and anyone else) needs to load and describe one model version. */
export interface ModelVersionRecord {
  model: string
  version: number
  versionId: string
  onnxSha256: string
  /** Absolute path of the ONNX object in the workspace's object store. */
  path: string
  signature: ModelSignature
  runId: string | null
  datasetVersionId: string | null
  metrics: Metrics
  aliases: string[]
}

/**
 * `selector` is an alias name or a version number as text; default `production`.
 * Throws a LatheError that says what exists when the model, alias or version does not.
 */
export function resolveModelVersion(ctx: EngineContext, model: string, selector = 'production'): ModelVersionRecord {
  const { row } = findVersion(ctx, model, selector)
  return {
    model: row.model,
    version: row.version,
    versionId: row.versionId,
    onnxSha256: row.onnxSha256,
    path: ctx.workspace.objects.pathOf(row.onnxSha256),
    signature: row.signature,
    runId: row.runId,
    datasetVersionId: row.dataset?.versionId ?? null,
    metrics: row.metrics,
    aliases: aliasesOfVersion(ctx.workspace.db, row.versionId),
  }
}

export function requireModel(ctx: EngineContext, name: string): ModelRow {
  const model = getModel(ctx.workspace.db, name)
  if (!model) throw new LatheError('not_found', `no model named "${name}" in the registry`, { field: 'model' })
  return model
}

export function findVersion(ctx: EngineContext, modelName: string, selector = 'production'): { model: ModelRow; row: VersionRow } {
  const db = ctx.workspace.db
  const model = requireModel(ctx, modelName)
  if (/^\d+$/.test(selector)) {
    const row = getVersion(db, model.id, Number(selector))
    if (!row) throw new LatheError('not_found', `model "${modelName}" has no version ${selector}`, { field: 'version' })
    return { model, row }
  }
  const alias = getAlias(db, model.id, selector)
  if (!alias) {
    const set = listAliases(db, model.id).map((a) => `${a.alias} -> v${a.version}`)
    throw new LatheError(
      'not_found',
      `model "${modelName}" has no alias "${selector}"${set.length ? ` (aliases: ${set.join(', ')})` : ' (no alias is set yet: promote a version first)'}`,
      { field: 'alias' },
    )
  }
  return { model, row: getVersion(db, model.id, alias.version)! }
}
