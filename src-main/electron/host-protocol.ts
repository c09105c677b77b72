import { resolveWorkspaceDir } from '../engine/workspace/index.js'

/**
 * Messages between Electron main and the engine host (a utilityProcess), over the
 * process's message port. Pure types and guards: imported by both sides, and by
 * the tests, without pulling in `electron`.
 */

/** Host -> main. */
export type HostMessage =
  | { type: 'ready'; url: string; token: string; workspace: string; logFile: string }
  /** The host could not start (the workspace is in use, the UI is not built, ...). */
  | { type: 'failed'; code: string; message: string; logFile: string | null }
  | { type: 'stopped' }

/** Main -> host. */
export type MainMessage = { type: 'stop' }

/** How main tells the host what to open (argv is visible to other users in `ps`, so no token travels this way). */
export const hostEnv = {
  workspace: 'LATHE_WORKSPACE',
  /** The built renderer the host serves at `/`; absent in dev, where Vite serves it. */
  staticDir: 'LATHE_RENDERER_DIR',
  /** The Vite dev server's origin, allowed to call the API in dev only. */
  devOrigin: 'LATHE_DEV_RENDERER_ORIGIN',
  /** Electron main's PID: the host stops when it is gone. */
  parentPid: 'LATHE_PARENT_PID',
} as const

export function isHostMessage(value: unknown): value is HostMessage {
  if (!value || typeof value !== 'object') return false
  const m = value as Record<string, unknown>
  switch (m.type) {
    case 'ready':
      return typeof m.url === 'string' && typeof m.token === 'string' && typeof m.workspace === 'string'
    case 'failed':
      return typeof m.message === 'string'
    case 'stopped':
      return true
    default:
      return false
  }
}

export function isMainMessage(value: unknown): value is MainMessage {
  return !!value && typeof value === 'object' && (value as { type?: unknown }).type === 'stop'
}

/** `--workspace DIR` (or `--workspace=DIR`) on the command line, else LATHE_WORKSPACE, else the OS user-data folder. */
export function workspaceFromArgs(argv: string[], env: NodeJS.ProcessEnv): string {
  const at = argv.indexOf('--workspace')
  const flag = at >= 0 ? argv[at + 1] : argv.find((a) => a.startsWith('--workspace='))?.slice('--workspace='.length)
  return resolveWorkspaceDir(flag || env[hostEnv.workspace] || undefined, env)
}
