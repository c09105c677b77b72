import { describe, expect, it } from 'vitest'
import { launchBrowser, openApp, screenshot, startUi } from './harness.js'

const pageNames = ['Datasets', 'Runs', 'Models', 'Serving', 'Monitoring', 'Pipelines', 'Team', 'Settings']

describe('the app shell in a browser', () => {
  it('shows the navigation, the status bar and the compute backends in Settings', async () => {
    const ui = await startUi()
    const page = await openApp(ui)
    const nav = page.getByRole('navigation', { name: 'Main' })
    for (const name of pageNames) {
      await nav.getByRole('link', { name }).waitFor({ state: 'visible' })
    }
    const status = page.getByRole('status', { name: 'Status' })
    await status.filter({ hasText: ui.workspace }).waitFor()
    await status.filter({ hasText: 'Compute: wasm' }).waitFor()
    await status.filter({ hasText: 'Engine connected' }).waitFor()

    await nav.getByRole('link', { name: 'Settings' }).click()
    const table = page.getByRole('table', { name: 'Compute backends' })
    await table.waitFor()
    const rows = await table.locator('tbody tr').allTextContents()
    expect(rows).toHaveLength(5)
    expect(rows.find((r) => r.startsWith('wasm'))).toContain('chosen')
    expect(rows.find((r) => r.startsWith('tfjs-node-gpu'))).toMatch(/not installed|load error|no device/)
    expect(rows.find((r) => r.startsWith('webgpu'))).toMatch(/not installed|load error|no device/)
    expect(await page.getByRole('link', { name: 'Settings' }).getAttribute('aria-current')).toBe('page')
    expect(page.url()).toMatch(/#\/settings$/)
    // The token left the address bar once read.
    expect(page.url()).not.toContain(ui.token)
    await page.getByText(ui.workspace).first().waitFor()
    await screenshot(page, 'settings')
  })

  it('is reachable by keyboard with a visible focus ring, and every page opens', async () => {
    const ui = await startUi()
    const page = await openApp(ui)
    const nav = page.getByRole('navigation', { name: 'Main' })
    await nav.getByRole('link', { name: 'Datasets' }).waitFor()

    // Tab from the top of the page: skip link first, then the navigation in order.
    const focused: string[] = []
    for (let i = 0; i < pageNames.length + 1; i++) {
      await page.keyboard.press('Tab')
      focused.push(await page.evaluate(() => document.activeElement?.textContent?.replace(/[^\w ]/g, '').trim() ?? ''))
    }
    expect(focused).toEqual(['Skip to content', ...pageNames])
    // The focused link shows an outline (`:focus-visible`), not just a colour change.
    const outline = await page.evaluate(() => getComputedStyle(document.activeElement!).outlineStyle)
    expect(outline).toBe('solid')

    // Enter follows the focused link (Settings), then each page by its link.
    await page.keyboard.press('Enter')
    await page.getByRole('heading', { level: 1, name: 'Settings' }).waitFor()
    for (const name of pageNames) {
      await nav.getByRole('link', { name }).click()
      await page.getByRole('heading', { level: 1, name }).waitFor()
      expect(await page.title()).toBe(`${name} · Lathe`)
    }
    // Back goes to the previous page (the hash keeps the history).
    await page.goBack()
    await page.getByRole('heading', { level: 1, name: 'Team' }).waitFor()
  })

  it('follows the OS theme, and loads nothing from outside the engine', async () => {
    const ui = await startUi()
    const browser = await launchBrowser()
    const origin = new URL(ui.url).origin
    const backgrounds: Record<string, string> = {}
    for (const colorScheme of ['light', 'dark'] as const) {
      const context = await browser.newContext({ colorScheme, viewport: { width: 1280, height: 800 } })
      const page = await context.newPage()
      const foreign: string[] = []
      page.on('request', (request) => {
        const url = request.url()
        if (!url.startsWith(origin) && !url.startsWith('data:')) foreign.push(url)
      })
      await page.goto(ui.ui)
      await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Settings' }).click()
      await page.getByRole('table', { name: 'Compute backends' }).waitFor()
      await page.getByRole('status', { name: 'Status' }).filter({ hasText: 'Engine connected' }).waitFor()
      backgrounds[colorScheme] = await page.evaluate(() => getComputedStyle(document.body).backgroundColor)
      expect(foreign).toEqual([])
      await screenshot(page, `settings-${colorScheme}`)
      await context.close()
    }
    expect(backgrounds.light).not.toBe(backgrounds.dark)
    // Dark is dark: the sum of its RGB channels is low.
    const channels = (backgrounds.dark ?? '').match(/\d+/g)!.slice(0, 3).map(Number)
    expect(channels.reduce((a, b) => a + b, 0)).toBeLessThan(150)
  })

  it('says so in the status bar when the engine goes away', async () => {
    const ui = await startUi()
    const page = await openApp(ui)
    const status = page.getByRole('status', { name: 'Status' })
    await status.filter({ hasText: 'Engine connected' }).waitFor()
    await new Promise<void>((resolve) => {
      ui.process.once('exit', () => resolve())
      ui.process.kill('SIGTERM')
    })
    await status.filter({ hasText: 'Engine unreachable' }).waitFor({ timeout: 20_000 })
    await screenshot(page, 'engine-unreachable')
  })
})
