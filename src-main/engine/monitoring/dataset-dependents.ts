import type { EngineContext } from '../context.js'
import { addDatasetDependentsFinder, type DatasetDependent } from '../data/index.js'
import { listMonitors, listRules } from './store.js'

/**
 * A monitor whose reference is a dataset version, and a retrain rule that names a
 * dataset (`name`, `name@latest` or `name@V`), keep that data from being deleted.
 */
export function registerMonitorDependents(ctx: EngineContext): void {
  addDatasetDependentsFinder(ctx, (ctx, versions) => {
    const db = ctx.workspace.db
    const found: DatasetDependent[] = []
    const monitors = listMonitors(db)
    for (const v of versions) {
      const names = [`${v.name}@${v.version}`]
      for (const m of monitors) {
        if (m.spec.reference && names.includes(m.spec.reference)) {
          found.push({ versionId: v.id, kind: 'monitor', id: m.id, label: `monitor ${m.name} (reference of ${m.model})` })
        }
      }
    }
    // A retrain action reads the dataset's newest version when it fires: every version of it is named.
    for (const rule of listRules(db)) {
      for (const action of rule.actions) {
        if (action.type !== 'retrain' || !action.dataset) continue
        const [name, version] = action.dataset.split('@')
        for (const v of versions) {
          if (v.name !== name || (version && version !== 'latest' && Number(version) !== v.version)) continue
          found.push({ versionId: v.id, kind: 'alert rule', id: rule.id, label: `alert rule ${rule.name} (retrains on ${action.dataset})` })
        }
      }
    }
    return found
  })
}
