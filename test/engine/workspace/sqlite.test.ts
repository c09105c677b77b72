import fs from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { nativeModuleProblem, openSqlite } from '../../../src-main/engine/workspace/sqlite.js'
import { tempDir } from '../../helpers/workspace.js'

/** What Node prints when an addon was built for Electron 39 (ABI 140) and Node 20 (ABI 115) loads it. */
const abiMismatch =
  "The module '/work/lathe/node_modules/better-sqlite3/build/Release/better_sqlite3.node'\n" +
  'was compiled against a different Node.js version using\n' +
  'NODE_MODULE_VERSION 140. This version of Node.js requires\n' +
  'NODE_MODULE_VERSION 115. Please try re-compiling or re-installing\n' +
  'the module (for instance, using `npm rebuild` or `npm install`).'

/** The error a real load throws, for the cases this machine can produce. */
function thrown(load: () => unknown): Error {
  try {
    load()
  } catch (error) {
    return error as Error
  }
  throw new Error('expected the load to fail')
}

describe('native module errors', () => {
  it('an addon built for the other ABI names the command that switches it, for the runtime loading it', () => {
    expect(nativeModuleProblem(new Error(abiMismatch), 'node')).toBe(
      'better-sqlite3 is built for the other runtime (it is built for NODE_MODULE_VERSION 140; this Node.js needs 115): run "node scripts/native-abi.mjs node" (or "npm rebuild better-sqlite3")',
    )
    const inElectron = nativeModuleProblem(new Error(abiMismatch.replace('Node.js requires', 'Electron requires')), 'electron')
    expect(inElectron).toContain('run "node scripts/native-abi.mjs electron"')
    expect(inElectron).not.toContain('\n')
  })

  it('a missing package (the real resolver error) says to install it', () => {
    const dir = tempDir()
    const error = thrown(() => createRequire(path.join(dir, 'x.js'))('better-sqlite3'))
    expect(error.message).toContain("Cannot find module 'better-sqlite3'")
    expect(nativeModuleProblem(error)).toBe('better-sqlite3 is not installed: run "npm install" in the Lathe folder')
  })

  it('a missing or corrupt binary (the real loader errors) says to rebuild it', () => {
    const missing = new Error(
      'Could not locate the bindings file. Tried:\n → /work/lathe/node_modules/better-sqlite3/build/better_sqlite3.node\n → /work/lathe/node_modules/better-sqlite3/build/Release/better_sqlite3.node',
    )
    expect(nativeModuleProblem(missing)).toBe('better-sqlite3 has no usable native binary: run "npm rebuild better-sqlite3"')
    const file = path.join(tempDir(), 'better_sqlite3.node')
    fs.writeFileSync(file, 'not an ELF file')
    const corrupt = thrown(() => createRequire(import.meta.url)(file))
    expect(nativeModuleProblem(corrupt)).toBe('better-sqlite3 has no usable native binary: run "npm rebuild better-sqlite3"')
  })

  it('other errors are left alone, and a working install opens a database', () => {
    expect(nativeModuleProblem(new Error('SQLITE_CANTOPEN: unable to open database file'))).toBeNull()
    expect(nativeModuleProblem(new Error("Cannot find module 'left-pad'"))).toBeNull()
    const db = openSqlite(':memory:')
    expect(db.prepare('SELECT 1 + 1 AS two').get()).toEqual({ two: 2 })
    db.close()
  })
})
