import { createRequire } from 'node:module'
import type Database from 'better-sqlite3'
import { LatheError } from '../api/common/errors.js'

/**
 * better-sqlite3 is the one classic (non-N-API) addon Lathe loads: its binary is built
 * for one ABI, Node's or Electron's (scripts/native-abi.mjs switches it). When it is
 * missing or built for the other runtime, every entry point (CLI, `lathe ui`, the
 * desktop app's engine host) gets one line saying so, with the command that fixes it,
 * instead of a loader stack trace.
 */
export function nativeModuleProblem(error: unknown, runtime: 'node' | 'electron' = process.versions.electron ? 'electron' : 'node'): string | null {
  const message = error instanceof Error ? error.message : String(error)
  const abi = /NODE_MODULE_VERSION (\d+)\. This version of [^\n]* requires\s+NODE_MODULE_VERSION (\d+)/.exec(message)
  if (abi || message.includes('was compiled against a different Node.js version')) {
    const versions = abi ? ` (it is built for NODE_MODULE_VERSION ${abi[1]}; this ${runtime === 'electron' ? 'Electron' : 'Node.js'} needs ${abi[2]})` : ''
    return `better-sqlite3 is built for the other runtime${versions}: run "node scripts/native-abi.mjs ${runtime}" (or "npm rebuild better-sqlite3")`
  }
  if (/Cannot find module ['"]better-sqlite3['"]/.test(message)) {
    return 'better-sqlite3 is not installed: run "npm install" in the Lathe folder'
  }
  // The loader's own words vary by OS (invalid ELF header, file too short, not a valid Win32 application).
  if (message.includes('Could not locate the bindings file') || message.includes('better_sqlite3.node')) {
    return 'better-sqlite3 has no usable native binary: run "npm rebuild better-sqlite3"'
  }
  return null
}

/** Opens a SQLite database with better-sqlite3, loaded on first use; a broken install is a LatheError. */
export function openSqlite(file: string): Database.Database {
  try {
    const Sqlite = createRequire(import.meta.url)('better-sqlite3') as typeof Database
    return new Sqlite(file)
  } catch (error) {
    const problem = nativeModuleProblem(error)
    if (problem) throw new LatheError('unavailable', problem)
    throw error
  }
}
