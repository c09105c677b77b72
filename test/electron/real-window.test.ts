import fs from 'node:fs'
import path from 'node:path'
import { _electron } from 'playwright-core'
import { describe, expect, it } from 'vitest'
import { bridgeKeys } from '../../src-preload/bridge.js'
import { screenshot } from '../e2e/harness.js'
import { afterThisTest, tempDir } from '../helpers/workspace.js'

/**
 * The desktop app in a real Electron window, driven by Playwright. It runs where
 * the Electron binary is installed, the app is built and better-sqlite3 is built
 * for Electron; elsewhere it is reported as skipped, with the reason in its name.
 */
const root = path.resolve(import.meta.dirname, '..', '..')
const electronPackage = path.join(root, 'node_modules', 'electron')

/** Where `require('electron')` would point, without its side effect of downloading the binary when it is missing. */
function electronBinary(): string | null {
  const pathFile = path.join(electronPackage, 'path.txt')
  const relative = fs.existsSync(pathFile) ? fs.readFileSync(pathFile, 'utf8').trim() : null
  const dist = process.env.ELECTRON_OVERRIDE_DIST_PATH ?? path.join(electronPackage, 'dist')
  const binary = relative ? path.join(dist, relative) : null
  return binary && fs.existsSync(binary) ? binary : null
}

function abiOf(file: string): number | null {
  try {
    const match = /node_register_module_v(\d+)/.exec(fs.readFileSync(file).toString('latin1'))
    return match ? Number(match[1]) : null
  } catch {
    return null
  }
}

function skipReason(): string | null {
  if (!electronBinary()) {
    return 'the Electron binary is not installed (node_modules/electron/dist is missing; installed with ELECTRON_SKIP_BINARY_DOWNLOAD=1)'
  }
  for (const built of ['out/main/electron.js', 'out/main/host.js', 'out/preload/index.cjs', 'out/renderer/index.html']) {
    if (!fs.existsSync(path.join(root, built))) return `the app is not built (${built} is missing): run "npm run build"`
  }
  const want = Number(fs.readFileSync(path.join(electronPackage, 'abi_version'), 'utf8'))
  const have = abiOf(path.join(root, 'node_modules', 'better-sqlite3', 'build', 'Release', 'better_sqlite3.node'))
  if (have !== want) {
    return `better-sqlite3 is built for ABI ${have}, not Electron's ${want}: run "node scripts/native-abi.mjs electron", this test, then "node scripts/native-abi.mjs node"`
  }
  return null
}

const skipped = skipReason()
if (skipped) console.warn(`[test/electron/real-window] skipped: ${skipped}`)

describe('the desktop app in a real Electron window', () => {
  it.skipIf(skipped !== null)(
    `opens one window on the engine's origin, with only the bridge and no remote access${skipped ? ` (skipped: ${skipped})` : ''}`,
    async () => {
      const workspace = tempDir('lathe-desktop-')
      const env = { ...process.env, LATHE_WORKSPACE: workspace } as Record<string, string>
      delete env.ELECTRON_RENDERER_URL
      delete env.ELECTRON_RUN_AS_NODE
      const app = await _electron.launch({
        executablePath: electronBinary()!,
        // Chromium's OS sandbox cannot start as root (CI containers); the renderer stays Electron-sandboxed.
        args: [...(process.getuid?.() === 0 ? ['--no-sandbox'] : []), path.join(root, 'out', 'main', 'electron.js')],
        env,
        timeout: 60_000,
      })
      let closed = false
      afterThisTest(() => (closed ? undefined : app.close()))

      const page = await app.firstWindow()
      const nav = page.getByRole('navigation', { name: 'Main' })
      for (const name of ['Datasets', 'Runs', 'Models', 'Serving', 'Monitoring', 'Settings']) {
        await nav.getByRole('link', { name }).waitFor({ state: 'visible' })
      }
      await page.getByRole('status').filter({ hasText: workspace }).waitFor()

      const seen = await page.evaluate(() => {
        const w = window as unknown as Record<string, unknown> & { lathe: { engine: { url: string; token: string } } }
        return {
          bridge: Object.keys(w.lathe).sort(),
          engineUrl: w.lathe.engine.url,
          origin: location.origin,
          require: typeof w.require,
          process: typeof w.process,
          electron: typeof w.electron,
        }
      })
      expect(seen.bridge).toEqual([...bridgeKeys].sort())
      expect(seen.origin).toBe(seen.engineUrl)
      expect([seen.require, seen.process, seen.electron]).toEqual(['undefined', 'undefined', 'undefined'])

      // The CSP allows no remote origin: the request never leaves the page.
      const remote = await page.evaluate(() =>
        fetch('https://example.com/').then(
          () => 'fetched',
          (error: Error) => error.message,
        ),
      )
      expect(remote).not.toBe('fetched')
      const windows = await app.evaluate(({ BrowserWindow }) => BrowserWindow.getAllWindows().length)
      expect(windows).toBe(1)

      const lock = JSON.parse(fs.readFileSync(path.join(workspace, 'lathe.lock'), 'utf8')) as { holder: string; url: string }
      expect(lock.holder).toBe('Lathe desktop app')
      expect(lock.url).toBe(seen.engineUrl)
      await screenshot(page, 'desktop-window')

      await app.close()
      closed = true
      // Quitting stopped the engine host, which closed the workspace and released its lock.
      expect(fs.existsSync(path.join(workspace, 'lathe.lock'))).toBe(false)
    },
    180_000,
  )
})
