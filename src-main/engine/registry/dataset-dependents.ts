import type { EngineContext } from '../context.js'
import { addDatasetDependentsFinder } from '../data/index.js'
import { versionsByDatasetVersion } from './store.js'

/** A model version's lineage names the dataset version it was trained on: that version stays. */
export function registerModelDependents(ctx: EngineContext): void {
  addDatasetDependentsFinder(ctx, (ctx, versions) =>
    versions.flatMap((v) =>
      versionsByDatasetVersion(ctx.workspace.db, v.id).map((m) => ({
        versionId: v.id,
        kind: 'model version' as const,
        id: m.versionId,
        label: `model ${m.model} v${m.version}`,
      })),
    ),
  )
}
