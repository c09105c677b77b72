import type { EngineContext } from './context.js'
import { monitorScheduler } from './monitoring/scheduler.js'
import { startRegistryService } from './registry/auto-register.js'

export interface CapabilityStartOptions {
  /** Run monitors on their schedules: for engines that stay up (the app, `lathe ui`, `lathe serve`). */
  schedules: boolean
}

/**
 * The long-lived parts capabilities start with an engine: auto-registration of
 * finished runs, and for engines that stay up, the monitor scheduler. One-shot CLI
 * commands that open the workspace themselves skip the schedules, so a command
 * never runs someone's monitor as a side effect.
 */
export function startCapabilities(ctx: EngineContext, options: CapabilityStartOptions): void {
  startRegistryService(ctx)
  if (options.schedules) monitorScheduler(ctx)
}
