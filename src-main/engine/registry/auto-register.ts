import type { EngineContext } from '../context.js'
import { registerRun } from './service.js'
import { getFinishedRun } from './upstream.js'

/**
 * Registers every run that finishes with `registerAs` set. Idempotent per engine:
 * every registry operation calls it, and the engine may call it at open so runs
 * finishing before anyone touches the registry are registered too.
 */
export function startRegistryService(ctx: EngineContext): void {
  ctx.singleton('registry.auto-register', () => {
    const unsubscribe = ctx.events.subscribe(['training.status'], (event) => {
      const payload = event.payload as { runId?: string; status?: string }
      if (payload.status !== 'finished' || !payload.runId) return
      autoRegister(ctx, payload.runId)
    })
    ctx.onClose(unsubscribe)
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
