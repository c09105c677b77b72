import type { EngineContext } from '../context.js'

/** Something outside a dataset version that names it: it must stay readable while that thing exists. */
export interface DatasetDependent {
  /** The version depended on. */
  versionId: string
  kind: 'run' | 'model version' | 'monitor' | 'alert rule' | 'dataset version'
  id: string
  /** What a person reads: `run 0192… (finished)`, `model churn v3`. */
  label: string
}

export interface DependedVersion {
  id: string
  name: string
  version: number
}

/** Finds, among `versions`, the ones a capability's records name. */
export type DatasetDependentsFinder = (ctx: EngineContext, versions: DependedVersion[]) => DatasetDependent[]

/**
 * Capabilities above data (training, registry, monitoring) declare a service that adds
 * their finder here, so data can say what depends on a version without importing them.
 */
export function addDatasetDependentsFinder(ctx: EngineContext, finder: DatasetDependentsFinder): void {
  finders(ctx).add(finder)
}

export function findDatasetDependents(ctx: EngineContext, versions: DependedVersion[]): DatasetDependent[] {
  if (versions.length === 0) return []
  return [...finders(ctx)].flatMap((find) => find(ctx, versions))
}

function finders(ctx: EngineContext): Set<DatasetDependentsFinder> {
  return ctx.singleton('data.dependents', () => new Set<DatasetDependentsFinder>())
}
