import { describe, expect, it } from 'vitest'
import { openApp, screenshot, startUi } from './harness.js'

describe('the app shell in a browser', () => {
  it('shows the navigation, the status bar and the compute backends in Settings', async () => {
    const ui = await startUi()
    const page = await openApp(ui)
    const nav = page.getByRole('navigation', { name: 'Main' })
    for (const name of ['Datasets', 'Runs', 'Models', 'Serving', 'Monitoring', 'Settings']) {
      await nav.getByRole('link', { name }).waitFor({ state: 'visible' })
    }
    await page.getByRole('status').filter({ hasText: ui.workspace }).waitFor()
    await page.getByRole('status').filter({ hasText: 'Compute: wasm' }).waitFor()

    await nav.getByRole('link', { name: 'Settings' }).click()
    const table = page.getByRole('table', { name: 'Compute backends' })
    await table.waitFor()
    const rows = await table.locator('tbody tr').allTextContents()
    expect(rows).toHaveLength(4)
    expect(rows.find((r) => r.startsWith('wasm'))).toContain('chosen')
    expect(rows.find((r) => r.startsWith('tfjs-node-gpu'))).toMatch(/not installed|load error|no device/)
    await screenshot(page, 'settings')
  })
})
