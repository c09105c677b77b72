import fs from 'node:fs'
import path from 'node:path'
import type { Page } from 'playwright-core'
import { describe, expect, it } from 'vitest'
import { Engine } from '../../src-main/engine/engine.js'
import { tempDir } from '../helpers/workspace.js'
import { trainWeatherModel, weatherCsv } from '../engine/monitoring/engineHelpers.js'
import { logPredictions } from '../engine/monitoring/logHelpers.js'
import { openApp, screenshot, startUi } from './harness.js'

/** The page fits 1024 px: nothing scrolls sideways. */
/** Toasts from earlier steps would cover a screenshot. */
async function clearToasts(page: Page): Promise<void> {
  const dismiss = page.locator('.toast-host').getByRole('button', { name: 'Dismiss' })
  while ((await dismiss.count()) > 0) await dismiss.first().click()
}

async function expectNoSidewaysScroll(page: Page): Promise<void> {
  const { scroll, client } = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth }))
  expect(scroll).toBeLessThanOrEqual(client)
}

describe('the dataset lifecycle in the UI', () => {
  it('transforms with a preview, splits, edits rules, exports, archives what a model uses and deletes what nothing uses; uploads late labels', async () => {
    // A workspace with weather@1 trained into a production model, and 40 logged predictions of it.
    const workspace = tempDir('lathe-e2e-lifecycle-')
    const engine = Engine.open({ workspaceDir: workspace, holder: 'e2e setup' })
    await trainWeatherModel(engine)
    await logPredictions(
      engine,
      Array.from({ length: 40 }, (_, i) => ({
        request_id: `req-${i}`,
        model: 'weather',
        version: 1,
        inputs: { precipitation: 0, temp_max: 20 + (i % 5), temp_min: 10, wind: 3 },
        prediction: 'sun',
      })),
    )
    await engine.close()

    const ui = await startUi(workspace)
    const page = await openApp(ui, undefined, { viewport: { width: 1024, height: 700 } })
    await page.goto(`${ui.url}/#/datasets/weather/1`)
    await page.getByText('weather@1', { exact: true }).first().waitFor()

    // Transform: DuckDB's error under the editor with its line and column, then a preview, then saved.
    await page.getByRole('tab', { name: 'Transform' }).click()
    const editor = page.getByLabel('Transform SQL')
    await editor.fill('SELECT weather, count(*) AS days\nFROM weather@1\nGROUP BY nope')
    await page.getByRole('button', { name: 'Preview' }).click()
    const sqlError = page.locator('.sql-field .field-error')
    await sqlError.waitFor()
    expect(await sqlError.innerText()).toMatch(/at line 3, column 10: Binder Error: Referenced column "nope" not found/)
    expect(await sqlError.innerText()).not.toContain(workspace)
    await clearToasts(page)
    await sqlError.scrollIntoViewIfNeeded()
    await screenshot(page, 'datasets-transform-error')
    await editor.fill('SELECT weather, count(*) AS days\nFROM weather@1\nGROUP BY ALL\nORDER BY weather')
    await page.getByRole('button', { name: 'Preview' }).click()
    const previewRows = page.getByRole('table', { name: 'Transform preview rows' })
    await previewRows.getByRole('cell', { name: 'drizzle' }).waitFor()
    expect(await sqlError.count()).toBe(0)
    await page.getByText(/First 5 rows from weather@1: 2 columns \(weather VARCHAR, days BIGINT\)/).waitFor()
    await expectNoSidewaysScroll(page)
    await clearToasts(page)
    await previewRows.scrollIntoViewIfNeeded()
    await screenshot(page, 'datasets-transform-preview')
    await page.getByLabel('Dataset to save into').fill('weather-days')
    await page.getByRole('button', { name: 'Save as new version' }).click()
    await page.getByText('weather-days@1', { exact: true }).first().waitFor()
    await page
      .getByRole('list', { name: 'Datasets' })
      .getByRole('button', { name: /weather-days/ })
      .waitFor()

    // Splits: a bad sum is said next to the fractions; a stratified split records its counts.
    await page.goto(`${ui.url}/#/datasets/weather/1/splits`)
    await page.getByText('No splits recorded for this version').waitFor()
    const form = page.getByRole('form', { name: 'New split' })
    await form.getByLabel('Name').fill('by-weather')
    await form.getByLabel('Method', { exact: true }).selectOption('stratified')
    await form.getByLabel('Class column', { exact: true }).selectOption('weather')
    await form.getByLabel('Seed').fill('7')
    await form.getByLabel('Train').fill('0.7')
    await form.getByLabel('Validation').fill('0.2')
    await form.getByLabel('Test').fill('0.2')
    await form.getByText('The fractions add up to 1.1; they must add up to 1.').waitFor()
    expect(await form.getByRole('button', { name: 'Create split' }).isDisabled()).toBe(true)
    await form.getByLabel('Train').fill('0.6')
    await form.getByRole('button', { name: 'Create split' }).click()
    const splitRow = page.getByRole('table', { name: 'Splits' }).locator('tbody tr').filter({ hasText: 'by-weather' })
    await splitRow.waitFor()
    const cells = await splitRow.locator('td').allInnerTexts()
    expect(cells.slice(0, 2)).toEqual(['by-weather', 'stratified by weather, seed 7'])
    const counts = cells.slice(2).map((c) => Number(c.split(' ')[0]!.replace(/,/g, '')))
    expect(counts.reduce((a, b) => a + b, 0)).toBe(1461)
    await clearToasts(page)
    await splitRow.scrollIntoViewIfNeeded()
    await screenshot(page, 'datasets-splits')

    // Validation rules: a typo in a SQL rule is refused under that rule; fixed, every rule's outcome shows.
    await page.getByRole('tab', { name: 'Validation' }).click()
    await page.getByText('No rules yet.').waitFor()
    await page.getByRole('button', { name: 'Add rule' }).click()
    const rule1 = page.getByRole('listitem', { name: 'Rule 1' })
    await rule1.getByLabel('Rule', { exact: true }).selectOption('not_null')
    await rule1.getByLabel('Column', { exact: true }).selectOption('temp_max')
    await page.getByRole('button', { name: 'Add rule' }).click()
    const rule2 = page.getByRole('listitem', { name: 'Rule 2' })
    await rule2.getByLabel('Rule', { exact: true }).selectOption('range')
    await rule2.getByLabel('Column', { exact: true }).selectOption('wind')
    await rule2.getByLabel('Min').fill('0')
    await rule2.getByLabel('Max').fill('8')
    await page.getByRole('button', { name: 'Add rule' }).click()
    const rule3 = page.getByRole('listitem', { name: 'Rule 3' })
    await rule3.getByLabel('Rule', { exact: true }).selectOption('sql')
    await rule3.getByLabel('Name').fill('min below max')
    await rule3.getByLabel(/Condition/).fill('temp_minn <= temp_max')
    await page.getByRole('button', { name: 'Save rules and validate' }).click()
    await rule3
      .locator('.field-error')
      .filter({ hasText: /temp_minn/ })
      .waitFor()
    await rule3.getByLabel(/Condition/).fill('temp_min <= temp_max')
    await page.getByRole('button', { name: 'Save rules and validate' }).click()
    const results = page.getByRole('list', { name: 'Validation results' })
    await results.locator('li').nth(2).waitFor()
    const outcomes = await results.locator('li').evaluateAll((items) => items.map((li) => li.getAttribute('data-passed')))
    expect(outcomes).toEqual(['true', 'false', 'true'])
    await results.getByText(/of 1461 rows break: "wind" is within \[0, 8\]/).waitFor()
    await expectNoSidewaysScroll(page)
    await clearToasts(page)
    await results.scrollIntoViewIfNeeded()
    await screenshot(page, 'datasets-validation-rules')

    // Export: the browser saves the version as CSV.
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export CSV' }).click()])
    expect(download.suggestedFilename()).toBe('weather-v1.csv')
    const saved = path.join(tempDir(), 'weather-v1.csv')
    await download.saveAs(saved)
    const lines = fs.readFileSync(saved, 'utf8').trim().split('\n')
    expect(lines).toHaveLength(1462)
    expect(lines[0]).toBe(fs.readFileSync(weatherCsv, 'utf8').split('\n')[0])

    // weather@1 trained a model and fed a transform: the confirmation lists them and offers archive only.
    await page.getByRole('button', { name: 'Delete version…' }).click()
    const confirm = page.getByRole('alertdialog', { name: 'Delete weather@1' })
    await confirm.getByText(/weather@1 cannot be deleted/).waitFor()
    const dependents = await confirm.getByRole('list', { name: 'What depends on it' }).innerText()
    expect(dependents).toContain('weather-days@1 (derived by SQL)')
    expect(dependents).toContain('model weather v1')
    expect(dependents).toMatch(/run \S+ \(finished\)/)
    expect(await confirm.getByRole('button', { name: 'Delete version' }).count()).toBe(0)
    await clearToasts(page)
    await confirm.scrollIntoViewIfNeeded()
    await screenshot(page, 'datasets-delete-confirm')
    await confirm.getByRole('button', { name: 'Archive version' }).click()
    await page.getByText('Archived weather@1').first().waitFor()
    await page.getByRole('button', { name: 'Restore version' }).waitFor()
    // Still readable: its rows show.
    await page.getByRole('tab', { name: 'Preview' }).click()
    await page.getByRole('table', { name: 'Preview' }).getByRole('cell', { name: 'drizzle' }).first().waitFor()

    // weather-days: nothing depends on it, so it is deleted.
    await page
      .getByRole('list', { name: 'Datasets' })
      .getByRole('button', { name: /weather-days/ })
      .click()
    await page.getByText('weather-days@1', { exact: true }).first().waitFor()
    await page.getByRole('button', { name: 'Delete dataset…' }).click()
    const confirmDays = page.getByRole('alertdialog', { name: 'Delete weather-days' })
    await confirmDays.getByText(/Nothing depends on dataset weather-days/).waitFor()
    await confirmDays.getByRole('button', { name: 'Delete dataset' }).click()
    await page.getByText('Deleted dataset weather-days').first().waitFor()
    await page
      .getByRole('list', { name: 'Datasets' })
      .getByRole('button', { name: /weather-days/ })
      .waitFor({ state: 'detached' })

    // Late labels on the Monitoring page: a wrong column name is said next to its field; then they join.
    const labels = path.join(tempDir(), 'labels.csv')
    fs.writeFileSync(labels, ['id,truth', ...Array.from({ length: 30 }, (_, i) => `req-${i},${i % 2 ? 'rain' : 'sun'}`), 'nobody,sun'].join('\n'))
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Monitoring' }).click()
    const upload = page.getByRole('form', { name: 'Upload late labels' })
    await upload.waitFor()
    await upload.getByLabel('Labels file').setInputFiles(labels)
    await upload.getByRole('button', { name: 'Upload labels' }).click()
    const idField = upload.locator('.field', { hasText: 'Request id column' }).locator('.field-error')
    await idField.waitFor()
    expect(await idField.innerText()).toBe('labels.csv has no column "request_id" (its columns: id, truth)')
    await upload.getByLabel('Labels file').setInputFiles(labels)
    await upload.getByLabel('Request id column').fill('id')
    await upload.getByLabel('Label column').fill('truth')
    await upload.getByRole('button', { name: 'Upload labels' }).click()
    await upload.getByText('30 of 31 labels joined to logged predictions of weather.').waitFor()
    await upload.getByText(/1 request id is not in the prediction log and was not recorded: nobody/).waitFor()
    await expectNoSidewaysScroll(page)
    await clearToasts(page)
    await upload.scrollIntoViewIfNeeded()
    await screenshot(page, 'monitoring-late-labels')
  })
})
