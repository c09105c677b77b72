import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterEach } from 'vitest'
import { Engine } from '../../src-main/engine/engine.js'

const cleanups: Array<() => Promise<void> | void> = []

afterEach(async () => {
  // Every cleanup runs even when one fails (a failed check must not leave a server running).
  const failures: unknown[] = []
  while (cleanups.length) {
    try {
      await cleanups.pop()!()
    } catch (error) {
      failures.push(error)
    }
  }
  if (failures.length) throw failures[0]
})

/** A fresh temporary folder, removed after the test. */
export function tempDir(prefix = 'lathe-test-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix))
  cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }))
  return dir
}

/** An engine on a fresh workspace of its own, closed after the test. */
export function openTestEngine(dir = tempDir()): Engine {
  const engine = Engine.open({ workspaceDir: dir, holder: 'test' })
  cleanups.push(() => engine.close())
  return engine
}

/** Registers something to run after the current test. */
export function afterThisTest(fn: () => Promise<void> | void): void {
  cleanups.push(fn)
}
