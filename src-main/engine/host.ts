import { startApiServer, type ApiServer, type ApiServerOptions } from './http.js'
import { startCapabilities } from './capabilities.js'
import { Engine } from './engine.js'

export interface EngineHostOptions extends ApiServerOptions {
  workspaceDir: string
  holder: string
  /** A host that stays up (the app, `lathe ui`, `lathe serve`): resumes queued runs, runs monitor schedules. */
  longLived?: boolean
}

export interface EngineHost {
  engine: Engine
  api: ApiServer
  /** Closes the API, the engine and the workspace, and releases the lock. Safe to call twice. */
  stop(): Promise<void>
}

/**
 * The engine host: the open workspace plus the engine API on a loopback port. Run
 * by `lathe ui` and `lathe serve` in the Node process, by the desktop app in an
 * Electron utilityProcess, and by a CLI command that finds no running engine.
 */
export async function startEngineHost(options: EngineHostOptions): Promise<EngineHost> {
  const engine = Engine.open({ workspaceDir: options.workspaceDir, holder: options.holder })
  let api: ApiServer
  try {
    api = await startApiServer(engine, options)
  } catch (error) {
    await engine.close()
    throw error
  }
  engine.advertise(api.url, api.token)
  startCapabilities(engine.context, { longLived: options.longLived ?? false })
  let stopping: Promise<void> | null = null
  return {
    engine,
    api,
    stop: () =>
      (stopping ??= (async () => {
        await api.close()
        await engine.close()
      })()),
  }
}

/** Stops the host on SIGINT/SIGTERM, so the lock is released and the database checkpointed. */
export function stopOnSignals(host: EngineHost, onStopped: () => void = () => process.exit(0)): void {
  let signalled = false
  const handler = (signal: NodeJS.Signals) => {
    if (signalled) process.exit(130)
    signalled = true
    process.stderr.write(`\nlathe: ${signal}, closing the workspace...\n`)
    void host.stop().then(onStopped, (error) => {
      process.stderr.write(`lathe: error while closing: ${(error as Error).message}\n`)
      process.exit(1)
    })
  }
  process.once('SIGINT', handler)
  process.once('SIGTERM', handler)
}
