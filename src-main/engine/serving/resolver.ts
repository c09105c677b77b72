import type { ModelSignature } from '../api/common/signature.js'
import type { EngineContext } from '../context.js'
import { findDataset, getVersionById } from '../data/index.js'
import { resolveModelVersion } from '../registry/index.js'
import { getAlias, listModels } from '../registry/index.js'
import type { EventPayloadMap } from '../api/index.js'

/** What serving needs to load one model version: where its ONNX lies and what it takes and gives. */
export interface ServableVersion {
  model: string
  version: number
  /** Stable identity of the version's bytes; two versions with the same sha share nothing else. */
  versionId: string
  path: string
  signature: ModelSignature
  /** The training dataset's validation rules (raw), checked per request where they apply to one value. */
  datasetRules?: readonly unknown[]
}

/**
 * Turns `model` + selector (an alias or a version number as text) into a version.
 * The engine uses the registry; tests may plug in their own to serve hand-written
 * ONNX files without a registry.
 */
export interface ModelResolver {
  resolve(model: string, selector: string): ServableVersion | Promise<ServableVersion>
  /** What to serve when nobody said: every model whose `production` alias is set. */
  productionModels(): string[]
}

/** The registry as the source of truth: `registry/resolve.ts`. */
export function registryResolver(ctx: EngineContext): ModelResolver {
  return {
    async resolve(model, selector) {
      const record = resolveModelVersion(ctx, model, selector)
      // A version pulled from the team server fetches its ONNX when it is first served.
      await ctx.workspace.objects.ensure(record.onnxSha256)
      return {
        model: record.model,
        version: record.version,
        versionId: record.versionId,
        path: record.path,
        signature: record.signature,
        datasetRules: record.datasetVersionId ? rulesOfDatasetVersion(ctx, record.datasetVersionId) : [],
      }
    },
    productionModels() {
      const db = ctx.workspace.db
      return listModels(db)
        .filter((m) => getAlias(db, m.id, 'production') !== null)
        .map((m) => m.name)
    },
  }
}

function rulesOfDatasetVersion(ctx: EngineContext, versionId: string): readonly unknown[] {
  const version = getVersionById(ctx.workspace.db, versionId)
  return version ? (findDataset(ctx.workspace.db, version.name)?.rules ?? []) : []
}

/** The registry's event for an alias that points somewhere new (promote, rollback); its topic lives with the registry. */
export { aliasMovedTopic } from '../registry/index.js'
export type AliasMoved = EventPayloadMap['registry.alias.moved']
