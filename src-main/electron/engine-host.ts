import { isLatheError } from '../engine/api/common/errors.js'
import { startEngineHost, stopOnSignals, type EngineHost } from '../engine/host.js'
import { EngineLog } from '../engine/log.js'
import { isProcessAlive } from '../engine/workspace/index.js'
import { hostEnv, isMainMessage, workspaceFromArgs, type HostMessage } from './host-protocol.js'

/**
 * The desktop app's engine host: runs inside an Electron utilityProcess, so the
 * database, DuckDB and the API server never block the window. It opens the
 * workspace, serves the engine API and the built renderer on one loopback origin,
 * and tells main where (URL + token) over the process's message port.
 *
 * Origins: the page is served by this host, so its requests carry the API's own
 * origin and no extra origin is allowed. A `file://` page would send `Origin: null`,
 * which any sandboxed iframe on any web site can send too, and would need CORS on
 * the API; serving the page from the API origin avoids both. Only in dev, the Vite
 * server's origin is allowed (LATHE_DEV_RENDERER_ORIGIN). The token guards every call.
 */

/** The part of Electron's `process.parentPort` the host uses. */
export interface ParentPortLike {
  postMessage(message: HostMessage): void
  on(event: 'message', listener: (event: { data: unknown }) => void): unknown
}

export interface RunEngineHostOptions {
  parentPort: ParentPortLike
  env?: NodeJS.ProcessEnv
  argv?: string[]
  /** How long between checks that Electron main is still alive. */
  parentCheckMs?: number
  /** Called once the host has stopped (after a stop message, a signal or main's death). */
  onStopped?: (exitCode: number) => void
}

/** Starts the host and wires it to its parent; resolves to the host, or null when it could not start. */
export async function runEngineHost(options: RunEngineHostOptions): Promise<EngineHost | null> {
  const env = options.env ?? process.env
  const port = options.parentPort
  const onStopped = options.onStopped ?? (() => {})
  const workspaceDir = workspaceFromArgs(options.argv ?? process.argv, env)
  const devOrigin = env[hostEnv.devOrigin]

  let host: EngineHost
  try {
    host = await startEngineHost({
      workspaceDir,
      holder: 'Lathe desktop app',
      longLived: true,
      port: 0,
      host: '127.0.0.1',
      staticDir: env[hostEnv.staticDir] || undefined,
      allowedOrigins: devOrigin ? [devOrigin] : [],
    })
  } catch (error) {
    if (isLatheError(error)) {
      port.postMessage({ type: 'failed', code: error.code, message: error.message, logFile: null })
    } else {
      let logFile: string | null = null
      let message = `the engine could not start: ${(error as Error).message}`
      try {
        const log = new EngineLog(workspaceDir)
        message = log.internalError('starting the desktop engine host', error)
        logFile = log.file
      } catch {
        // The workspace folder itself is unusable; the message above still says why.
      }
      port.postMessage({ type: 'failed', code: 'internal', message, logFile })
    }
    onStopped(1)
    return null
  }

  let stopped = false
  const stop = async (exitCode: number) => {
    if (stopped) return
    stopped = true
    clearInterval(parentWatch)
    try {
      await host.stop()
      port.postMessage({ type: 'stopped' })
    } catch (error) {
      host.engine.log.write('error', 'while stopping the desktop engine host', error)
      exitCode = 1
    }
    onStopped(exitCode)
  }

  port.on('message', (event) => {
    if (isMainMessage(event.data)) void stop(0)
  })
  // Electron ends a utilityProcess with its parent, but a killed main (SIGKILL, a
  // debugger) can leave it behind holding the workspace; watching the PID covers that.
  const parentPid = Number(env[hostEnv.parentPid])
  const parentWatch = setInterval(() => {
    if (parentPid > 0 && !isProcessAlive(parentPid)) void stop(0)
  }, options.parentCheckMs ?? 2000)
  parentWatch.unref()

  port.postMessage({
    type: 'ready',
    url: host.api.url,
    token: host.api.token,
    workspace: host.engine.workspace.dir,
    logFile: host.engine.log.file,
  })
  return { ...host, stop: () => stop(0) }
}

const electronParentPort = (process as unknown as { parentPort?: ParentPortLike }).parentPort
if (electronParentPort) {
  void runEngineHost({ parentPort: electronParentPort, onStopped: (code) => process.exit(code) }).then((host) => {
    if (host) stopOnSignals(host, () => process.exit(0))
  })
}
