import type { EngineContext } from './context.js'
import { monitorScheduler } from './monitoring/index.js'
import { startRegistryService } from './registry/index.js'
import { startTrainingService } from './training/index.js'
import { failOrphanedRuns } from './training/index.js'

export interface CapabilityStartOptions {
  /** An engine that stays up (the app, `lathe ui`, `lathe serve`) rather than one CLI command's. */
  longLived: boolean
}

/**
 * The long-lived parts capabilities start with an engine. Every engine settles runs
 * a dead engine left `running` and registers finished runs that asked for it. Only
 * engines that stay up resume queued runs and run monitors on their schedules: a
 * one-shot CLI command must not start a training job it would kill on exit, nor run
 * someone's monitor as a side effect.
 */
export function startCapabilities(ctx: EngineContext, options: CapabilityStartOptions): void {
  if (options.longLived) {
    startTrainingService(ctx)
    monitorScheduler(ctx)
  } else {
    failOrphanedRuns(ctx.workspace.db)
  }
  startRegistryService(ctx)
}
