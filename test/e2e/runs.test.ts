import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { createHttpClient } from '../../src-main/engine/api/common/client.js'
import type { Contract } from '../../src-main/engine/contract.js'
import { openApp, screenshot, startUi } from './harness.js'

const weatherCsv = path.resolve('node_modules/vega-datasets/data/seattle-weather.csv')

async function pointsOf(figure: import('playwright-core').Locator): Promise<number> {
  return Number((await figure.getAttribute('data-points')) ?? 0)
}

describe('the Runs page', () => {
  it('starts a run from the form, shows its loss curve growing live, and cancels it', async () => {
    const ui = await startUi()
    const client = createHttpClient<Contract>({ baseUrl: ui.url, token: ui.token })
    await client.call('data.import', { name: 'weather', path: weatherCsv })

    const page = await openApp(ui)
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Runs' }).click()
    await page.getByRole('heading', { level: 1, name: 'Runs' }).waitFor()
    const form = page.getByRole('form', { name: 'Start a run' })
    await form.waitFor()
    // Defaults: the dataset, and its last text column as the target.
    await expect.poll(() => form.getByLabel('Target').inputValue(), { timeout: 10_000 }).toBe('weather')
    // Enough epochs that the run is still training when Cancel is clicked (an epoch is a few ms).
    await form.getByLabel('Epochs').fill('3000')
    await form.getByLabel('Batch size').fill('16')
    await form.getByRole('button', { name: 'Train' }).click()

    const loss = page.getByRole('figure', { name: 'Loss' })
    await loss.waitFor()
    await page.waitForFunction(() => Number(document.querySelector('figure[aria-label="Loss"]')?.getAttribute('data-points')) >= 2)
    const early = await pointsOf(loss)
    await page.waitForFunction((n) => Number(document.querySelector('figure[aria-label="Loss"]')?.getAttribute('data-points')) >= n + 3, early)
    const later = await pointsOf(loss)
    expect(later).toBeGreaterThan(early)
    expect(await loss.locator('.recharts-line path.recharts-curve').count()).toBeGreaterThanOrEqual(2)
    await page.getByText(/Training: epoch \d+\/3000/).waitFor()
    await screenshot(page, 'runs-training-live')

    await page.getByRole('button', { name: 'Cancel run' }).click()
    const table = page.getByRole('table', { name: 'Runs' })
    await table.locator('tbody tr', { hasText: 'cancelled' }).waitFor()
    const { runs } = await client.call('training.runs.list', {})
    expect(runs).toHaveLength(1)
    expect(runs[0]!.status).toBe('cancelled')
  })

  it('shows a finished run with metrics and a confusion matrix, and compares two runs', async () => {
    const ui = await startUi()
    const client = createHttpClient<Contract>({ baseUrl: ui.url, token: ui.token })
    await client.call('data.import', { name: 'weather', path: weatherCsv })
    const a = await client.call('training.start', { dataset: 'weather', target: 'weather', params: { epochs: 3 } })
    await client.call('training.runs.wait', { run: a.id })
    const b = await client.call('training.start', { dataset: 'weather', target: 'weather', params: { epochs: 3, learningRate: 0.01 } })
    await client.call('training.runs.wait', { run: b.id })

    const page = await openApp(ui)
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Runs' }).click()
    const table = page.getByRole('table', { name: 'Runs' })
    await table.locator('tbody tr', { hasText: a.id }).click()
    await page.getByRole('table', { name: 'Confusion matrix (test split)' }).waitFor()
    await page.getByRole('table', { name: 'Metrics' }).getByText('accuracy').waitFor()

    await page.getByLabel(`compare ${a.id}`).check()
    await page.getByLabel(`compare ${b.id}`).check()
    const comparison = page.getByRole('table', { name: 'Run comparison' })
    await comparison.waitFor()
    // Only the learning rate differs between the two runs.
    await comparison.locator('tr.differs', { hasText: 'learningRate' }).waitFor()
    expect(await comparison.locator('tr.differs').count()).toBe(1)
    await page.getByRole('figure', { name: 'val_loss by epoch, overlaid' }).waitFor()
    await screenshot(page, 'runs-compare')
  })
})
