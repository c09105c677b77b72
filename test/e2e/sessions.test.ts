import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { createHttpClient } from '../../src-main/engine/api/common/client.js'
import type { Contract } from '../../src-main/engine/contract.js'
import { launchBrowser, screenshot, startUi, watchPageErrors } from './harness.js'

const penguins = path.resolve('node_modules/vega-datasets/data/penguins.json')

describe('sessions and links', () => {
  it('keeps a second tab, a reload and deep links to a run and a model version signed in', async () => {
    const ui = await startUi()
    const client = createHttpClient<Contract>({ baseUrl: ui.url, token: ui.token })
    await client.call('data.import', { name: 'penguins', path: penguins })
    const started = await client.call('training.start', { dataset: 'penguins', target: 'Species', modelFamily: 'linear', params: { epochs: 3 } })
    const run = await client.call('training.runs.wait', { run: started.id })
    await client.call('training.runs.edit', { run: run.id, name: 'first penguins' })
    await client.call('registry.versions.register', { runId: run.id, name: 'penguins' })
    const again = await client.call('training.start', { dataset: 'penguins', target: 'Species', modelFamily: 'linear', params: { epochs: 4 } })
    await client.call('training.runs.wait', { run: again.id })
    await client.call('registry.versions.register', { runId: again.id, name: 'penguins' })

    const browser = await launchBrowser()
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } })
    const first = await context.newPage()
    watchPageErrors(first)
    await first.goto(ui.ui)
    await first.getByRole('status', { name: 'Status' }).filter({ hasText: 'Engine connected' }).waitFor()
    expect(first.url()).not.toContain(ui.token)
    const cookies = await context.cookies(ui.url)
    expect(cookies).toHaveLength(1)
    expect(cookies[0]).toMatchObject({ httpOnly: true, sameSite: 'Strict' })
    // The page's script cannot read it.
    expect(await first.evaluate(() => document.cookie)).toBe('')

    // A second tab, opened on a deep link to the run without any token.
    const second = await context.newPage()
    watchPageErrors(second)
    await second.goto(`${ui.url}/#/runs/${run.id}`)
    await second.getByRole('heading', { level: 2, name: new RegExp(`first penguins\\s+${run.id}`) }).waitFor()
    await second.getByRole('table', { name: 'Metrics' }).waitFor()
    await second.reload()
    await second.getByRole('heading', { level: 2, name: new RegExp(`first penguins\\s+${run.id}`) }).waitFor()
    expect(await second.getByText('Datasets').first().isVisible()).toBe(true)
    await screenshot(second, 'deep-link-run')

    // A model version has its own URL too; a reload shows the same version.
    await second.goto(`${ui.url}/#/models/penguins/1`)
    await second.getByRole('region', { name: 'Version 1' }).waitFor()
    await second.reload()
    await second
      .getByRole('region', { name: 'Version 1' })
      .getByText('run ' + run.id, { exact: true })
      .first()
      .waitFor()
    await second.getByRole('table', { name: 'Versions' }).getByRole('row').filter({ hasText: 'v2' }).first().click()
    await second.getByRole('region', { name: 'Version 2' }).waitFor()
    expect(second.url()).toMatch(/#\/models\/penguins\/2$/)
    await second.goBack()
    await second.getByRole('region', { name: 'Version 1' }).waitFor()
    await screenshot(second, 'deep-link-model-version')
  })

  it('tells a page without a session how to open Lathe, and its event stream backs off', async () => {
    const ui = await startUi()
    const browser = await launchBrowser()
    const page = await browser.newPage({ viewport: { width: 1024, height: 700 } })
    watchPageErrors(page)
    const eventRequests: number[] = []
    page.on('request', (request) => {
      if (request.url().includes('/api/v1/events')) eventRequests.push(Date.now())
    })
    await page.goto(`${ui.url}/#/datasets`)
    await page.getByRole('heading', { level: 1, name: 'Open Lathe from its link' }).waitFor()
    await page.getByText('lathe ui --open').waitFor()
    expect(await page.getByText('No datasets yet').count()).toBe(0)
    await screenshot(page, 'no-session')
    // Over 7 seconds a stream retrying every second would ask 7 times; backing off (1, 2, 4 s) asks 3 or 4.
    const since = Date.now()
    await page.waitForTimeout(7000)
    expect(eventRequests.filter((t) => t >= since).length).toBeLessThanOrEqual(4)

    const icon = await page.request.get(`${ui.url}/favicon.ico`)
    expect(icon.status()).toBe(200)
    expect(icon.headers()['content-type']).toBe('image/x-icon')
  })
})
