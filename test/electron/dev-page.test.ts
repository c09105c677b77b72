import path from 'node:path'
import react from '@vitejs/plugin-react'
import type { CDPSession, Page } from 'playwright-core'
import { createServer } from 'vite'
import { describe, expect, it } from 'vitest'
import { runEngineHost } from '../../src-main/electron/engine-host.js'
import type { HostMessage } from '../../src-main/electron/host-protocol.js'
import { installResponseHeaders, type PolicyOrigins } from '../../src-main/electron/window.js'
import { launchBrowser } from '../e2e/harness.js'
import { afterThisTest, tempDir } from '../helpers/workspace.js'

/**
 * `npm run dev` without Electron: the renderer from Vite's dev server, the engine on
 * another port, and main's onHeadersReceived listener applied to the engine's
 * responses at the network layer (Chromium's Fetch domain, response stage, which is
 * where Electron runs it). The CORS preflight the page needs must be answered by that
 * listener, since the engine itself answers 401 to a request without a token.
 */
const root = path.resolve(import.meta.dirname, '..', '..')

type HeadersListener = Parameters<Electron.WebRequest['onHeadersReceived']>[0] extends infer L ? (L extends (...args: any[]) => any ? L : never) : never

/** Runs `listener` on every response from `origin`, as Electron's session would. */
async function applyOnHeadersReceived(page: Page, origin: string, listener: HeadersListener): Promise<string[]> {
  const cdp: CDPSession = await page.context().newCDPSession(page)
  const seen: string[] = []
  await cdp.send('Fetch.enable', { patterns: [{ urlPattern: `${origin}/*`, requestStage: 'Response' }] })
  cdp.on('Fetch.requestPaused', (event) => {
    const responseHeaders: Record<string, string[]> = {}
    for (const h of event.responseHeaders ?? []) (responseHeaders[h.name] ??= []).push(h.value)
    const details = { url: event.request.url, method: event.request.method, responseHeaders, statusCode: event.responseStatusCode }
    listener(details as never, (answer) => {
      const code = answer.statusLine ? Number(answer.statusLine.split(' ')[1]) : event.responseStatusCode!
      seen.push(`${event.request.method} ${event.responseStatusCode} -> ${code}`)
      const headers = Object.entries(answer.responseHeaders ?? responseHeaders).flatMap(([name, value]) =>
        (Array.isArray(value) ? value : [value]).map((v) => ({ name, value: String(v) })),
      )
      // A request the page abandoned (navigation, close) cannot be continued; record it rather than leave an unhandled rejection.
      cdp
        .send('Fetch.continueResponse', { requestId: event.requestId, responseCode: code, responseHeaders: headers })
        .catch((error: Error) => seen.push(`${event.request.method} ${event.responseStatusCode} not continued: ${error.message}`))
    })
  })
  return seen
}

describe('the dev page', () => {
  it(`reaches the engine on another port through main's CORS answer`, async () => {
    const vite = await createServer({
      configFile: false,
      root: path.join(root, 'src-renderer'),
      plugins: [react()],
      server: { host: '127.0.0.1', port: 0 },
      logLevel: 'error',
    })
    await vite.listen()
    afterThisTest(() => vite.close())
    const devOrigin = new URL(vite.resolvedUrls!.local[0]!).origin

    const workspace = tempDir('lathe-dev-page-')
    let ready: Extract<HostMessage, { type: 'ready' }> | null = null
    const host = await runEngineHost({
      parentPort: { postMessage: (m) => (m.type === 'ready' ? (ready = m) : undefined), on: () => undefined },
      env: { LATHE_WORKSPACE: workspace, LATHE_DEV_RENDERER_ORIGIN: devOrigin },
      argv: [],
    })
    afterThisTest(() => host!.stop())
    const { url, token } = ready!

    let listener: HeadersListener | null = null
    const origins = (): PolicyOrigins => ({ appOrigin: devOrigin, engineOrigin: url, dev: true })
    installResponseHeaders({ webRequest: { onHeadersReceived: (l: HeadersListener) => (listener = l) } } as never, origins)

    const browser = await launchBrowser()
    const page = await browser.newPage()
    const seen = await applyOnHeadersReceived(page, url, (details, callback) => listener!(details, callback))
    const consoleErrors: string[] = []
    page.on('console', (m) => (m.type() === 'error' && /CORS|Access-Control/.test(m.text()) ? consoleErrors.push(m.text()) : undefined))
    await page.addInitScript(
      (engine) => {
        ;(window as unknown as { lathe: unknown }).lathe = Object.freeze({ engine: Object.freeze(engine) })
      },
      { url, token },
    )

    await page.goto(`${devOrigin}/`)
    // The status bar shows the workspace only once workspace.info came back from the engine.
    await page.getByRole('status').filter({ hasText: workspace }).waitFor()
    expect(consoleErrors).toEqual([])
    expect(seen).toContain('OPTIONS 401 -> 204')
    expect(seen.some((s) => s.startsWith('POST 200'))).toBe(true)
  }, 120_000)
})
