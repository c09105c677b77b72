import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { runEngineHost } from '../../src-main/electron/engine-host.js'
import type { HostMessage } from '../../src-main/electron/host-protocol.js'
import { contentSecurityPolicy } from '../../src-main/electron/window.js'
import { launchBrowser, screenshot } from '../e2e/harness.js'
import { needBuilt } from '../helpers/needs.js'
import { afterThisTest, tempDir } from '../helpers/workspace.js'

/**
 * What the desktop window shows, without Electron: the desktop engine host serves the
 * built renderer, Chromium loads it with the CSP header main adds and with
 * `window.lathe` put there the way the preload does (URL and token, no token in the
 * page URL). Checks that the app works under that policy and that the policy stops a
 * request to a remote origin.
 */
const root = path.resolve(import.meta.dirname, '..', '..')
const rendererDir = path.join(root, 'out', 'renderer')

describe('the desktop page', () => {
  it(`runs on the host's origin under the desktop CSP with the bridge's token`, async () => {
    needBuilt('out/renderer/index.html')
    const workspace = tempDir('lathe-desktop-page-')
    let ready: Extract<HostMessage, { type: 'ready' }> | null = null
    const host = await runEngineHost({
      parentPort: { postMessage: (m) => (m.type === 'ready' ? (ready = m) : undefined), on: () => undefined },
      env: { LATHE_WORKSPACE: workspace, LATHE_RENDERER_DIR: rendererDir },
      argv: [],
    })
    expect(host).not.toBeNull()
    afterThisTest(() => host!.stop())
    const { url, token } = ready!
    const policy = contentSecurityPolicy({ appOrigin: url, engineOrigin: url })

    const browser = await launchBrowser()
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } })
    const pageErrors: string[] = []
    page.on('pageerror', (error) => pageErrors.push(error.message))
    // What main's onHeadersReceived does for the app's origin.
    await page.route(`${url}/**`, async (route) => {
      if (route.request().resourceType() !== 'document') return route.continue()
      const response = await route.fetch()
      await route.fulfill({ response, headers: { ...response.headers(), 'content-security-policy': policy } })
    })
    // What the preload does.
    await page.addInitScript(
      (engine) => {
        ;(window as unknown as { lathe: unknown }).lathe = Object.freeze({ engine: Object.freeze(engine) })
        ;(window as unknown as { __violations: string[] }).__violations = []
        document.addEventListener('securitypolicyviolation', (e) =>
          (window as unknown as { __violations: string[] }).__violations.push(`${e.violatedDirective} ${e.blockedURI}`),
        )
      },
      { url, token },
    )

    await page.goto(`${url}/`)
    const nav = page.getByRole('navigation', { name: 'Main' })
    await nav.getByRole('link', { name: 'Settings' }).waitFor()
    // The status bar needs workspace.info: the token reached the API through the bridge.
    await page.getByRole('status').filter({ hasText: workspace }).waitFor()
    await nav.getByRole('link', { name: 'Settings' }).click()
    await page.getByRole('table', { name: 'Compute backends' }).locator('tbody tr').first().waitFor()
    await screenshot(page, 'desktop-page-under-csp')

    const violationsOfTheApp = await page.evaluate(() => (window as unknown as { __violations: string[] }).__violations.slice())
    expect(violationsOfTheApp).toEqual([])
    expect(pageErrors).toEqual([])

    const remote = await page.evaluate(async () => {
      const w = window as unknown as { __violations: string[] }
      const outcome = await fetch('https://example.com/collect', { method: 'POST', body: 'x' }).then(
        () => 'sent',
        () => 'blocked',
      )
      await new Promise((resolve) => setTimeout(resolve, 50))
      return { outcome, violations: w.__violations.slice() }
    })
    expect(remote.outcome).toBe('blocked')
    // Reported once per policy that blocks it: the header main sets and the meta tag in index.html.
    expect(new Set(remote.violations)).toEqual(new Set(['connect-src https://example.com/collect']))
  }, 120_000)
})
