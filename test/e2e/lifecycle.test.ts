import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { createHttpClient } from '../../src-main/engine/api/common/client.js'
import type { Contract } from '../../src-main/engine/contract.js'
import { openApp, screenshot, startUi, type RunningUi } from './harness.js'

const penguins = path.resolve('node_modules/vega-datasets/data/penguins.json')
const weather = path.resolve('node_modules/vega-datasets/data/seattle-weather.csv')

function clientOf(ui: RunningUi) {
  return createHttpClient<Contract>({ baseUrl: ui.url, token: ui.token })
}

describe('the lifecycle in the UI', () => {
  it('filters runs by a query, compares three on a chosen metric, registers one from the Runs page and promotes it', async () => {
    const ui = await startUi()
    const client = clientOf(ui)
    await client.call('data.import', { name: 'penguins', path: penguins })
    const ids: string[] = []
    for (const learningRate of [0.001, 0.01, 0.05]) {
      const run = await client.call('training.start', { dataset: 'penguins', target: 'Species', modelFamily: 'linear', params: { epochs: 6, learningRate } })
      ids.push((await client.call('training.runs.wait', { run: run.id })).id)
    }

    const page = await openApp(ui)
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Runs' }).click()
    const table = page.getByRole('table', { name: 'Runs' })
    await table.locator('tbody tr').nth(2).waitFor()

    // The query language: one run has lr 0.05; a misspelt metric is said in a sentence.
    const filter = page.getByLabel('Filter runs')
    await filter.fill('params.lr = 0.05 and metrics.accuracy >= 0')
    await expect.poll(() => table.locator('tbody tr').count()).toBe(1)
    await table.getByText(ids[2]!).waitFor()
    await filter.fill('metrics.acuracy > 0.5')
    await page.getByRole('alert').filter({ hasText: 'No run has a metric "acuracy". Metrics: accuracy' }).waitFor()
    await screenshot(page, 'runs-filter-typo')
    await filter.fill('')

    // Compare three runs on a metric picked from what they logged.
    for (const id of ids) await page.getByLabel(`compare ${id}`).check()
    await page.getByRole('table', { name: 'Run comparison' }).getByText('learningRate').waitFor()
    await page.getByLabel('Metric to compare').selectOption('val_accuracy')
    const figure = page.getByRole('figure', { name: 'val_accuracy by epoch, overlaid' })
    await figure.waitFor()
    await expect.poll(() => figure.locator('.recharts-line').count()).toBe(3)
    // The best run of a metric is marked, and numbers carry four significant digits at most.
    const accuracyRow = page.getByRole('table', { name: 'Run comparison' }).locator('tbody tr', { hasText: 'test accuracy' })
    expect(await accuracyRow.locator('strong').count()).toBe(1)
    const cells = await accuracyRow.locator('td').allTextContents()
    for (const cell of cells.slice(1)) expect(cell.replace(' ★', '')).toMatch(/^(0|1|0\.\d{1,4})$/)
    await figure.scrollIntoViewIfNeeded()
    await screenshot(page, 'runs-compare-three')

    // Open the best run, name it, register it, follow the link to the version and promote it.
    await table.locator('tbody tr', { hasText: ids[2]! }).click()
    const labels = page.getByRole('form', { name: 'Name, tags and notes' })
    await labels.getByLabel('Name').fill('fast learner')
    await labels.getByLabel('Tags (comma-separated)').fill('linear, candidate')
    await labels.getByRole('button', { name: 'Save' }).click()
    await table.locator('tbody tr', { hasText: 'fast learner' }).getByText('candidate').waitFor()
    const register = page.getByRole('form', { name: 'Register as a model' })
    await register.getByLabel('Model name').fill('penguins')
    await register.getByRole('button', { name: 'Register' }).click()
    await register.getByRole('link', { name: 'penguins v1' }).click()
    await page.waitForURL(/#\/models\/penguins\/1$/)
    const v1 = page.getByRole('region', { name: 'Version 1' })
    await v1.getByText(`run ${ids[2]}`, { exact: true }).first().waitFor()
    await v1.getByRole('button', { name: 'Check gate' }).click()
    await v1.getByRole('button', { name: 'Promote v1 to production' }).click()
    await page.getByRole('table', { name: 'Aliases' }).locator('tr[data-alias="production"] .alias-version').filter({ hasText: 'v1' }).waitFor()
    await screenshot(page, 'models-promoted-from-run')
  })

  it('keeps a gate tolerance, refuses an unknown metric with the known ones, and shows form errors beside their field', async () => {
    const ui = await startUi()
    const client = clientOf(ui)
    await client.call('data.import', { name: 'penguins', path: penguins })
    const run = await client.call('training.start', { dataset: 'penguins', target: 'Species', modelFamily: 'linear', params: { epochs: 3 } })
    await client.call('training.runs.wait', { run: run.id })
    await client.call('registry.versions.register', { runId: run.id, name: 'penguins' })

    const page = await openApp(ui, undefined, { url: `${ui.url}/#/models/penguins?token=${ui.token}` })
    const gates = page.getByRole('group', { name: 'Promotion gates' })
    await gates.getByRole('button', { name: 'Edit gate' }).click()
    await gates.getByLabel('Metric thresholds').fill('test.acuracy >= 0.5')
    await gates.getByRole('button', { name: 'Save gate' }).click()
    await gates
      .getByRole('alert')
      .filter({ hasText: 'this model has no metric "test.acuracy". Known metrics: ' })
      .filter({ hasText: 'test.accuracy' })
      .waitFor()
    expect(await page.getByText('Internal error').count()).toBe(0)
    await screenshot(page, 'gate-unknown-metric')
    await gates.getByLabel('Metric thresholds').fill('test.accuracy >= 0.2')
    await gates.getByLabel('No worse than metric').fill('test.accuracy')
    await gates.getByLabel('Tolerance').fill('0.02')
    await gates.getByRole('button', { name: 'Save gate' }).click()
    await gates.getByText('no worse than the current version on test.accuracy (within 0.02)').waitFor()
    const gate = await client.call('registry.gate.get', { model: 'penguins', alias: 'production' })
    expect(gate.noWorseThan).toEqual({ metric: 'test.accuracy', tolerance: 0.02 })
    await gates.getByRole('button', { name: 'Edit gate' }).click()
    expect(await gates.getByLabel('Tolerance').inputValue()).toBe('0.02')

    // A number past what the engine accepts: the sentence sits under its field, nothing is queued.
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Runs' }).click()
    const form = page.getByRole('form', { name: 'Start a run' })
    await form.getByLabel('Epochs').fill('1e308')
    await form.getByRole('button', { name: 'Train' }).click()
    await form.getByRole('alert').filter({ hasText: 'must be at most 10000' }).waitFor()
    expect(await page.getByText('params.epochs').count()).toBe(0)
    expect((await client.call('training.runs.list', {})).runs).toHaveLength(1)
    await screenshot(page, 'runs-form-error')
  })

  it('folds a 1461-class confusion matrix so the page stays responsive', async () => {
    const ui = await startUi()
    const client = clientOf(ui)
    await client.call('data.import', { name: 'weather', path: weather })
    // One class per day. A DATE target is refused outright (guardrails), so the day is a derived
    // text column, and the run allows more classes than the default limit of 100.
    await client.call('data.transform', { name: 'days', sql: "SELECT * EXCLUDE (date), strftime(date, '%Y-%m-%d') AS day FROM weather@1" })
    const started = await client.call('training.start', {
      dataset: 'days',
      target: 'day',
      modelFamily: 'linear',
      params: { epochs: 1 },
      allowManyClasses: true,
    })
    const run = await client.call('training.runs.wait', { run: started.id })
    expect(run.status, run.error ?? '').toBe('finished')
    const classes = run.metrics!.confusion!.labels.length
    expect(classes).toBeGreaterThan(1000)

    const page = await openApp(ui, undefined, { url: `${ui.url}/#/runs/${run.id}?token=${ui.token}` })
    const matrix = page.getByRole('table', { name: 'Confusion matrix (test split)' })
    await matrix.waitFor()
    await page
      .getByRole('note')
      .filter({ hasText: `${classes.toLocaleString('en-US')} classes: the 11 with the most examples are shown` })
      .waitFor()
    expect(await matrix.locator('tbody td').count()).toBe(144)
    expect(await matrix.locator('thead th').last().textContent()).toBe('other')
    // The page still answers at once.
    await page.getByLabel('Filter runs').fill('status = finished')
    await page.getByRole('table', { name: 'Runs' }).locator('tbody tr').first().waitFor()
    await matrix.scrollIntoViewIfNeeded()
    await screenshot(page, 'runs-many-classes')
  })
})
