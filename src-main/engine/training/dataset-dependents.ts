import type { EngineContext } from '../context.js'
import { addDatasetDependentsFinder, type DatasetDependent } from '../data/index.js'
import { listRuns } from './store.js'

/** Runs trained on a dataset version keep it from being deleted (it can be archived). */
export function registerRunDependents(ctx: EngineContext): void {
  addDatasetDependentsFinder(ctx, (ctx, versions) => {
    const ids = new Set(versions.map((v) => v.id))
    const names = new Set(versions.map((v) => v.name))
    return [...names].flatMap((dataset) =>
      listRuns(ctx.workspace.db, { dataset, limit: 1_000_000 })
        .filter((run) => ids.has(run.dataset.versionId))
        .map((run): DatasetDependent => ({ versionId: run.dataset.versionId, kind: 'run', id: run.id, label: `run ${run.id} (${run.status})` })),
    )
  })
}
