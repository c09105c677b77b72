import fs from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { createHttpClient } from '../../src-main/engine/api/common/client.js'
import type { Contract } from '../../src-main/engine/contract.js'
import { Engine } from '../../src-main/engine/engine.js'
import { irisClassifierOnnx, writeModel } from '../fixtures/serving/onnx-models.js'
import { tempDir } from '../helpers/workspace.js'
import { openApp, screenshot, startUi } from './harness.js'

const weatherCsv = path.resolve('node_modules/vega-datasets/data/seattle-weather.csv')
const irisOnnx = path.resolve('test/fixtures/onnx/iris_logreg.onnx')
const small = { width: 1024, height: 700 }

/** 450 rows, 150 classes of 3 rows each: over the 100-class limit, and a random split leaves some classes out of training. */
function manyClassesCsv(): string {
  const lines = ['x,z,label']
  for (let i = 0; i < 450; i++) lines.push(`${(i % 17) / 17},${(i % 7) / 7},c${i % 150}`)
  const file = path.join(tempDir(), 'many.csv')
  fs.writeFileSync(file, lines.join('\n') + '\n')
  return file
}

describe('runs, sweeps and models as a person uses them (1024x700)', () => {
  it('sweeps from the form, compares three runs in parallel coordinates and a scatter, deletes one run and archives a registered one', async () => {
    const ui = await startUi()
    const client = createHttpClient<Contract>({ baseUrl: ui.url, token: ui.token })
    await client.call('data.import', { name: 'weather', path: weatherCsv })
    const page = await openApp(ui, undefined, { viewport: small })
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Runs' }).click()
    const form = page.getByRole('form', { name: 'Start a run' })
    await expect.poll(() => form.getByLabel('Target').inputValue(), { timeout: 10_000 }).toBe('weather')

    // A grid over three learning rates, ranked by validation accuracy.
    await form.getByLabel('Sweep').check()
    await form.getByLabel('Learning rate').fill('0.001 | 0.01 | 0.1')
    await form.getByLabel('Epochs').fill('3')
    await form.getByLabel('Rank by (validation)').selectOption('accuracy')
    await form.getByText('3 runs over learningRate (3)').waitFor()
    await form.getByRole('button', { name: 'Start sweep' }).click()

    const sweep = page.getByRole('region', { name: /^Sweep sweep-/ })
    await sweep.getByRole('progressbar', { name: 'Sweep progress' }).waitFor()
    await sweep.getByText('3 of 3 runs done, 3 finished').waitFor({ timeout: 120_000 })
    const results = sweep.getByRole('table', { name: 'Sweep results' })
    expect(await results.locator('tbody tr').count()).toBe(3)
    expect(await results.locator('tbody tr[data-best="true"]').count()).toBe(1)
    await results.locator('tbody tr[data-best="true"]').getByText('★').waitFor()
    const sweepScatter = sweep.getByRole('figure', { name: 'validation accuracy against learningRate' })
    await expect.poll(() => sweepScatter.getAttribute('data-points')).toBe('3')
    await sweep.scrollIntoViewIfNeeded()
    await screenshot(page, 'runs-sweep')

    // The runs table fits its card at 1024 px: nothing important is hidden sideways.
    const runsTable = page.getByRole('table', { name: 'Runs' })
    await runsTable.locator('tbody tr').nth(2).waitFor()
    const overflow = await runsTable.evaluate((t) => {
      const box = t.closest('.card') as HTMLElement
      return {
        table: t.getBoundingClientRect().right,
        card: box.getBoundingClientRect().right,
        scroll: document.documentElement.scrollWidth - window.innerWidth,
      }
    })
    expect(overflow.table).toBeLessThanOrEqual(overflow.card)
    expect(overflow.scroll).toBeLessThanOrEqual(0)
    for (const header of ['Target', 'Test metric', 'Created']) await runsTable.getByRole('columnheader', { name: header }).waitFor()
    await runsTable.scrollIntoViewIfNeeded()
    await screenshot(page, 'runs-table-1024')

    // Compare all three: parallel coordinates and a param-vs-metric scatter, the best marked.
    const { runs } = await client.call('training.runs.list', {})
    for (const r of runs) await page.getByLabel(`compare ${r.id}`).check()
    const parallel = page.getByRole('figure', { name: 'Parameters and metrics, one line per run' })
    await expect.poll(() => parallel.getAttribute('data-lines')).toBe('3')
    expect(await parallel.locator('path[data-best="true"]').count()).toBe(1)
    await parallel.getByText(/★ best test accuracy/).waitFor()
    await page.getByLabel('Scatter metric').selectOption('test:log_loss')
    const scatter = page.getByRole('figure', { name: 'test log_loss against learningRate' })
    await expect.poll(() => scatter.getAttribute('data-points')).toBe('3')
    // The best log loss is the smallest, at four significant digits.
    const bestLogLoss = Math.min(...runs.map((r) => r.metrics!.test.log_loss!))
    await scatter.getByText(`best test log_loss ${Number(bestLogLoss.toPrecision(4))} (★)`, { exact: false }).waitFor()
    await parallel.scrollIntoViewIfNeeded()
    await screenshot(page, 'runs-compare-parallel')

    // Register one run from its page; deleting it then archives it, and another is erased.
    const [kept, erased] = runs
    await runsTable.locator('tbody tr', { hasText: kept!.id }).click()
    await page.getByRole('form', { name: 'Register as a model' }).getByLabel('Model name').fill('weather')
    await page.getByRole('form', { name: 'Register as a model' }).getByRole('button', { name: 'Register' }).click()
    await page.getByText('Registered as').waitFor()
    await page.getByRole('button', { name: 'Delete…' }).click()
    const keep = page.getByRole('alertdialog', { name: 'Delete run' })
    await keep.getByText('Model version weather v1 was registered from it.').waitFor()
    await keep.getByText(/archived \(hidden from the list, kept for lineage\), not deleted/).waitFor()
    await screenshot(page, 'runs-delete-registered')
    await keep.getByRole('button', { name: 'Archive run' }).click()
    await runsTable.locator('tbody tr', { hasText: kept!.id }).waitFor({ state: 'detached' })

    await runsTable.locator('tbody tr', { hasText: erased!.id }).click()
    await page.getByRole('button', { name: 'Delete…' }).click()
    const erase = page.getByRole('alertdialog', { name: 'Delete run' })
    await erase.getByText(/Nothing refers to this run/).waitFor()
    await erase.getByRole('button', { name: 'Delete run' }).click()
    await runsTable.locator('tbody tr', { hasText: erased!.id }).waitFor({ state: 'detached' })
    const after = await client.call('training.runs.list', { includeArchived: true })
    expect(after.runs.map((r) => r.id).sort()).toEqual(
      runs
        .filter((r) => r.id !== erased!.id)
        .map((r) => r.id)
        .sort(),
    )
    expect(after.runs.find((r) => r.id === kept!.id)!.archivedAt).toBeTruthy()
  }, 240_000)

  it('a 150-class target is refused next to the field until "Allow many classes" is ticked; the run warns about classes training lacked', async () => {
    const ui = await startUi()
    const client = createHttpClient<Contract>({ baseUrl: ui.url, token: ui.token })
    await client.call('data.import', { name: 'many', path: manyClassesCsv() })
    const page = await openApp(ui, undefined, { viewport: small })
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Runs' }).click()
    const form = page.getByRole('form', { name: 'Start a run' })
    await expect.poll(() => form.getByLabel('Target').inputValue(), { timeout: 10_000 }).toBe('label')
    await form.getByLabel('Epochs').fill('2')
    await form.getByRole('button', { name: 'Train' }).click()
    const refusal = form.locator('label', { hasText: 'Target' }).getByRole('alert')
    await refusal.getByText(/has 150 distinct values, more than the 100 classes/).waitFor()
    expect(await refusal.textContent()).toContain('tick “Allow many classes”')
    await screenshot(page, 'runs-many-classes-refused')
    expect((await client.call('training.runs.list', {})).runs).toHaveLength(0)

    await form.getByRole('checkbox', { name: 'Allow many classes' }).check()
    await form.getByRole('button', { name: 'Train' }).click()
    await page.getByText(/Epochs run: 2/).waitFor({ timeout: 120_000 })
    const warning = page.getByRole('note').filter({ hasText: 'classes the training split lacks' }).first()
    await warning.waitFor()
    expect(await warning.textContent()).toMatch(/counted as wrong/)
    await page.getByRole('table', { name: 'Confusion matrix (test split)' }).waitFor()
    await warning.scrollIntoViewIfNeeded()
    await screenshot(page, 'runs-unseen-classes-warning')
  }, 180_000)

  it('deletes a version nothing refers to, archives one with alias history, refuses one an alias holds, downloads an ONNX file, deletes a model', async () => {
    const workspace = tempDir('lathe-e2e-remove-')
    const engine = Engine.open({ workspaceDir: workspace, holder: 'e2e setup' })
    for (let i = 0; i < 3; i++) await engine.call('registry.versions.import', { file: irisOnnx, name: 'iris' })
    await engine.call('registry.versions.import', { file: irisOnnx, name: 'scratch' })
    await engine.call('registry.promote', { model: 'iris', version: 1, alias: 'staging' })
    await engine.call('registry.promote', { model: 'iris', version: 2, alias: 'staging' })
    await engine.close()

    const ui = await startUi(workspace)
    const page = await openApp(ui, undefined, { viewport: small })
    await page.goto(`${ui.url}/#/models/iris/3`)
    const versions = page.getByRole('table', { name: 'Versions' })
    const v3 = page.getByRole('region', { name: 'Version 3' })
    await v3.getByRole('button', { name: 'Delete version…' }).click()
    const dialog3 = v3.getByRole('alertdialog', { name: 'Delete iris v3' })
    await dialog3.getByText('It is erased.').waitFor()
    await dialog3.getByRole('button', { name: 'Delete v3' }).click()
    await versions.locator('tbody tr', { hasText: 'v3' }).waitFor({ state: 'detached' })

    await versions.locator('tbody tr', { hasText: 'v2' }).click()
    const v2 = page.getByRole('region', { name: 'Version 2' })
    await v2.getByRole('button', { name: 'Delete version…' }).click()
    const held = v2.getByRole('alertdialog', { name: 'Delete iris v2' })
    await held.getByText('is in use and cannot be deleted or archived yet').waitFor()
    await held.getByRole('list', { name: 'What depends on it' }).getByText('Alias staging points to').waitFor()
    expect(await held.getByRole('button', { name: /Delete v2|Archive v2/ }).count()).toBe(0)
    await held.scrollIntoViewIfNeeded()
    await screenshot(page, 'models-delete-blocked')
    await held.getByRole('button', { name: 'Close' }).click()

    // The ONNX graph downloads as the bytes that were imported.
    const downloading = page.waitForEvent('download')
    await v2.getByRole('button', { name: 'Download ONNX' }).click()
    const download = await downloading
    expect(download.suggestedFilename()).toBe('iris-v2.onnx')
    const saved = path.join(tempDir(), 'iris-v2.onnx')
    await download.saveAs(saved)
    expect(fs.readFileSync(saved).equals(fs.readFileSync(irisOnnx))).toBe(true)

    await versions.locator('tbody tr', { hasText: 'v1' }).click()
    const v1 = page.getByRole('region', { name: 'Version 1' })
    await v1.getByRole('button', { name: 'Delete version…' }).click()
    const history = v1.getByRole('alertdialog', { name: 'Delete iris v1' })
    await history.getByText('2 alias moves in the history').waitFor()
    await history.getByText(/stays in the registry, marked archived/).waitFor()
    await screenshot(page, 'models-delete-archives')
    await history.getByRole('button', { name: 'Archive v1' }).click()
    await versions.locator('tbody tr', { hasText: 'v1' }).getByText('archived').waitFor()
    // Archiving is undone from the version's page.
    await versions.locator('tbody tr', { hasText: 'v1' }).click()
    await page.getByRole('region', { name: 'Version 1' }).getByRole('button', { name: 'Restore v1' }).click()
    await versions.locator('tbody tr', { hasText: 'v1' }).getByText('archived').waitFor({ state: 'detached' })

    // A model nothing refers to is erased with its version.
    await page.getByRole('table', { name: 'Models' }).getByText('scratch', { exact: true }).click()
    await page.getByRole('button', { name: 'Delete model…' }).click()
    const model = page.getByRole('alertdialog', { name: 'Delete model scratch' })
    await model.getByText(/and its 1 version\?/).waitFor()
    await model.getByRole('button', { name: 'Delete model' }).click()
    await page.getByRole('table', { name: 'Models' }).getByText('scratch', { exact: true }).waitFor({ state: 'detached' })
  }, 120_000)

  it('the Serving page shows the endpoint refusing 1e308 next to the field', async () => {
    const workspace = tempDir('lathe-e2e-1e308-')
    const engine = Engine.open({ workspaceDir: workspace, holder: 'e2e setup' })
    await engine.call('registry.versions.import', { file: writeModel(tempDir(), 'iris', irisClassifierOnnx()), name: 'iris' })
    await engine.call('registry.promote', { model: 'iris', version: 1, alias: 'production', force: true, reason: 'e2e setup' })
    await engine.close()

    const ui = await startUi(workspace)
    const page = await openApp(ui, undefined, { viewport: small })
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Serving' }).click()
    await page.getByRole('textbox', { name: 'Port' }).fill('0')
    await page.getByRole('button', { name: 'Start endpoint' }).click()
    await page.getByRole('table', { name: 'Deployments' }).locator('tbody tr').filter({ hasText: 'ready' }).waitFor()
    const form = page.getByRole('form', { name: 'Try it' })
    await form.getByRole('textbox', { name: 'petal_length' }).fill('1e308')
    await form.getByRole('textbox', { name: 'petal_width' }).fill('1.5')
    await form.getByRole('textbox', { name: 'color' }).fill('green')
    await form.getByRole('button', { name: 'Predict' }).click()
    const field = form.locator('label', { hasText: 'petal_length' })
    const refusal = field.getByRole('alert')
    await refusal.waitFor()
    expect(await refusal.textContent()).toMatch(/^Column "petal_length" in row 0 is 1e\+308, outside the float32 range \(±3\.4e38\) the model takes\.$/)
    expect(await form.getByRole('textbox', { name: 'petal_length' }).getAttribute('aria-invalid')).toBe('true')
    await page.getByRole('region', { name: 'Prediction' }).filter({ hasText: 'HTTP 400' }).waitFor()
    await screenshot(page, 'serving-1e308-refused')

    // Fixing the value clears the refusal and answers.
    await form.getByRole('textbox', { name: 'petal_length' }).fill('4.5')
    expect(await field.getByRole('alert').count()).toBe(0)
    await form.getByRole('button', { name: 'Predict' }).click()
    await page.getByRole('region', { name: 'Prediction' }).filter({ hasText: 'HTTP 200' }).waitFor()
  }, 120_000)
})
