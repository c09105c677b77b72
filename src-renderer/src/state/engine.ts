import { create } from 'zustand'
import { api } from '../api.js'
import { LatheError } from '../../../src-main/engine/api/common/errors.js'

export type ConnectionState = 'connecting' | 'connected' | 'disconnected'

interface EngineState {
  connection: ConnectionState
  workspace: string | null
  backend: string | null
  /** Why the engine cannot be reached, when it cannot. */
  problem: string | null
  /** 'missing' when the engine answers but refuses this page (no or an old session cookie). */
  session: 'unknown' | 'ok' | 'missing'
  /** Re-read the workspace and backend (after a setting changes). */
  refresh(): Promise<void>
}

/**
 * What the status bar shows: which workspace, which compute backend, and whether the
 * engine answers. A cheap heartbeat (`system.info`) notices an engine that went away
 * (the terminal running `lathe ui` was closed) and one that came back.
 */
export const useEngine = create<EngineState>((set) => ({
  connection: 'connecting',
  workspace: null,
  backend: null,
  problem: null,
  session: 'unknown',
  async refresh() {
    try {
      const [workspace, backends] = await Promise.all([api.call('workspace.info', {}), api.call('compute.backends', {})])
      set({
        connection: 'connected',
        session: 'ok',
        problem: null,
        workspace: workspace.dir,
        backend: backends.find((b) => b.chosen)?.name ?? 'none',
      })
    } catch (error) {
      set(lost(error))
    }
  },
}))

function lost(error: unknown): Partial<EngineState> {
  if (error instanceof LatheError && error.code === 'unauthorized') return { connection: 'connected', session: 'missing', problem: error.message }
  return { connection: 'disconnected', problem: (error as Error).message }
}

const HEARTBEAT_MS = 5000
let heartbeat: ReturnType<typeof setInterval> | null = null

/** Starts the first read and the heartbeat; idempotent (StrictMode mounts twice). */
export function watchEngine(): () => void {
  if (heartbeat) return () => {}
  void useEngine.getState().refresh()
  heartbeat = setInterval(async () => {
    const { connection, refresh } = useEngine.getState()
    try {
      await api.call('system.info', {})
      if (connection !== 'connected' || useEngine.getState().session !== 'ok') await refresh()
    } catch (error) {
      useEngine.setState(lost(error))
    }
  }, HEARTBEAT_MS)
  return () => {
    if (heartbeat) clearInterval(heartbeat)
    heartbeat = null
  }
}
