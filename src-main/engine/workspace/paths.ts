import os from 'node:os'
import path from 'node:path'

/** The OS user-data folder, as Electron's `app.getPath('userData')` would place it. */
export function defaultWorkspaceDir(env: NodeJS.ProcessEnv = process.env, platform = process.platform): string {
  if (env.LATHE_WORKSPACE) return path.resolve(env.LATHE_WORKSPACE)
  // HOME (USERPROFILE on Windows) from the given env first, so a caller (or a test) that
  // passes its own env is never sent to the real home folder.
  const home = (platform === 'win32' ? env.USERPROFILE : env.HOME) || os.homedir()
  if (platform === 'darwin') return path.join(home, 'Library', 'Application Support', 'lathe')
  if (platform === 'win32') return path.join(env.APPDATA ?? path.join(home, 'AppData', 'Roaming'), 'lathe')
  return path.join(env.XDG_DATA_HOME ?? path.join(home, '.local', 'share'), 'lathe')
}

export function resolveWorkspaceDir(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  return flag ? path.resolve(flag) : defaultWorkspaceDir(env)
}

export const workspaceFiles = {
  db: 'lathe.db',
  monitor: 'monitor.duckdb',
  /** The prediction log's segment files (monitor.duckdb's `prediction_log` view reads them). */
  predictionLog: 'prediction-log',
  objects: 'objects',
  tmp: 'tmp',
  lock: 'lathe.lock',
  token: 'engine.token',
  log: 'lathe.log',
} as const
