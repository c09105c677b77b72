import type { EngineContext } from '../context.js'
import { registerRun } from './service.js'
import { versionsByRun } from './store.js'
import { finishedRunsWithRegisterAs, getFinishedRun } from './upstream.js'

/**
 * Registers every run that finishes with `registerAs` set. Idempotent per engine:
 * every registry operation calls it, and the engine may call it at open. On start it
 * also catches up on runs that finished while nothing was listening (a `lathe train
 * --register-as` whose engine closed before any registry call), so registration
 * happens at the latest on the next registry call.
 */
export function startRegistryService(ctx: EngineContext): void {
  ctx.singleton('registry.auto-register', () => {
    const unsubscribe = ctx.events.subscribe(['training.status'], (event) => {
      if (event.payload.status !== 'finished') return
      autoRegister(ctx, event.payload.runId)
    })
    ctx.onClose(unsubscribe)
    for (const run of finishedRunsWithRegisterAs(ctx)) {
      if (!versionsByRun(ctx.workspace.db, run.id).some((v) => v.model === run.registerAs)) autoRegister(ctx, run.id)
    }
    return true
  })
}

function autoRegister(ctx: EngineContext, runId: string): void {
  try {
    const run = getFinishedRun(ctx, runId)
    if (!run.registerAs) return
    registerRun(ctx, runId, run.registerAs)
  } catch (error) {
    // The run itself succeeded; say why it was not registered rather than failing it.
    ctx.events.emit('registry.autoregister.failed', { runId, message: (error as Error).message })
  }
}
