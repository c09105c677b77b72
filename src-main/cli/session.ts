import { createHttpClient, type ApiClient } from '../engine/api/common/client.js'
import type { Contract, EventPayloads } from '../engine/contract.js'
import { isLatheError } from '../engine/api/common/errors.js'
import type { EngineHost } from '../engine/host.js'
import { findRunningEngine } from '../engine/workspace/index.js'
import { resolveWorkspaceDir } from '../engine/workspace/index.js'

export type Client = ApiClient<Contract, EventPayloads>

/**
 * The engine host and every capability under it, loaded only when a command needs an
 * engine: `lathe --help`, a usage error or a command that only talks to a running engine
 * loads commander and this file, not DuckDB, zod schemas or fastify.
 */
export const loadEngineHost = () => import('../engine/host.js')

export interface CommonOptions {
  workspace?: string
  json?: boolean
}

export function workspaceDirOf(options: CommonOptions): string {
  return resolveWorkspaceDir(options.workspace)
}

/**
 * Runs a command against the workspace's engine. When an engine (the app, `lathe ui`)
 * holds the workspace, the command is sent to it over its API, so there is only ever
 * one writer; otherwise this process opens the workspace itself, serves the engine
 * API on a loopback port while it holds it, and closes it when the command ends.
 */
export async function withClient<T>(options: CommonOptions, holder: string, run: (client: Client, host: EngineHost | null) => Promise<T>): Promise<T> {
  const dir = workspaceDirOf(options)
  const running = findRunningEngine(dir)
  if (running) {
    return run(createHttpClient<Contract, EventPayloads>({ baseUrl: running.url, token: running.token }), null)
  }
  const host = await (await loadEngineHost()).startEngineHost({ workspaceDir: dir, holder })
  try {
    return await run(host.engine.client(), host)
  } catch (error) {
    if (!isLatheError(error) && error instanceof Error) {
      // A bug, not the user's mistake: the stack goes to the workspace log and the
      // terminal gets one line pointing there (see reportError).
      host.engine.log.write('error', holder, error)
      ;(error as Error & { loggedAt?: string }).loggedAt = host.engine.log.file
    }
    throw error
  } finally {
    await host.stop()
  }
}
