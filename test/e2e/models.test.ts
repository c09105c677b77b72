import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { Engine } from '../../src-main/engine/engine.js'
import { tempDir } from '../helpers/workspace.js'
import { openApp, screenshot, startUi } from './harness.js'

const penguins = path.resolve('node_modules/vega-datasets/data/penguins.json')

/**
 * A workspace with two versions of `penguins` from real training runs, v1 in
 * production. Built in process, then closed, so `lathe ui` opens it as a user's would be.
 */
async function workspaceWithTwoVersions(): Promise<string> {
  const dir = tempDir('lathe-e2e-models-')
  const engine = Engine.open({ workspaceDir: dir, holder: 'e2e setup' })
  try {
    await engine.call('data.import', { name: 'penguins', path: penguins })
    for (const epochs of [5, 20]) {
      const run = await engine.call('training.start', {
        dataset: 'penguins@1',
        target: 'Species',
        modelFamily: 'linear',
        params: { epochs, learningRate: 0.05 },
      })
      const done = await engine.call('training.runs.wait', { run: run.id })
      expect(done.status).toBe('finished')
      await engine.call('registry.versions.register', { runId: run.id, name: 'penguins' })
    }
    await engine.call('registry.gate.set', {
      model: 'penguins',
      alias: 'production',
      gate: { thresholds: [{ metric: 'test.accuracy', op: '>=', value: 0.5 }] },
    })
    await engine.call('registry.promote', { model: 'penguins', version: 1, alias: 'production' })
  } finally {
    await engine.close()
  }
  return dir
}

describe('the Models page', () => {
  it('promotes a version after showing its gate checks, and the alias moves; rollback moves it back', async () => {
    const ui = await startUi(await workspaceWithTwoVersions())
    const page = await openApp(ui)
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Models' }).click()

    const models = page.getByRole('table', { name: 'Models' })
    await models.getByText('penguins', { exact: true }).waitFor()
    const production = page.getByRole('table', { name: 'Aliases' }).locator('tr[data-alias="production"] .alias-version')
    await production.filter({ hasText: 'v1' }).waitFor()

    // Open v2's page: metrics, lineage and the promote panel.
    await page.getByRole('table', { name: 'Versions' }).getByRole('row').filter({ hasText: 'v2' }).first().click()
    const v2 = page.getByRole('region', { name: 'Version 2' })
    await v2.getByRole('table', { name: 'Version metrics' }).getByRole('row').filter({ hasText: 'accuracy' }).first().waitFor()
    await v2.getByRole('img', { name: 'Lineage graph' }).getByText('penguins@1', { exact: true }).waitFor()
    await v2.getByRole('img', { name: 'Lineage graph' }).getByText('penguins.json', { exact: true }).waitFor()

    await v2.getByRole('button', { name: 'Check gate' }).click()
    const checks = v2.getByRole('list', { name: 'Gate checks' })
    await checks.getByText('signature compatible with current').waitFor()
    const checkTexts = await checks.getByRole('listitem').allTextContents()
    expect(checkTexts.some((t) => t.includes('training data validation passed'))).toBe(true)
    expect(checkTexts.find((t) => t.includes('metric test.accuracy >= 0.5'))).toMatch(/v2 test\.accuracy = (1|0\.\d{4}), required >= 0\.5/)
    await checks.scrollIntoViewIfNeeded()
    await screenshot(page, 'models-gate-checks')

    await v2.getByRole('button', { name: 'Promote v2 to production' }).click()
    await production.filter({ hasText: 'v2' }).waitFor()
    await page.getByRole('list', { name: 'Alias history' }).getByText('v1 → v2').waitFor()
    await page.getByRole('table', { name: 'Aliases' }).scrollIntoViewIfNeeded()
    await screenshot(page, 'models-promoted')

    // Rolling back production asks first, and says what follows the alias.
    await page.getByRole('button', { name: 'Roll back production…' }).click()
    const confirm = page.getByRole('alertdialog', { name: 'Roll back production' })
    await confirm.getByText('switches at once').waitFor()
    expect(await production.filter({ hasText: 'v2' }).count()).toBe(1)
    await confirm.getByRole('button', { name: 'Roll back production' }).click()
    await production.filter({ hasText: 'v1' }).waitFor()
    const history = await page.getByRole('list', { name: 'Alias history' }).getByRole('listitem').allTextContents()
    expect(history[0]).toContain('rollback')
    expect(history).toHaveLength(3)
  })

  it('imports an ONNX file picked in the browser, edits its details, sets a gate and forces a promote past it', async () => {
    const ui = await startUi()
    const page = await openApp(ui)
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Models' }).click()
    await page.getByText('No models yet').waitFor()

    const importer = page.getByRole('group', { name: 'Import a model' })
    await importer.getByLabel('Model file').setInputFiles(path.resolve('test/fixtures/onnx/iris_logreg.onnx'))
    await importer.getByLabel('Model name').fill('iris-sklearn')
    await importer.getByRole('button', { name: 'Import' }).click()

    await page.getByRole('table', { name: 'Models' }).getByText('iris-sklearn', { exact: true }).waitFor()
    const v1 = page.getByRole('region', { name: 'Version 1' })
    await v1.getByText('features: float32 [N, 4]').waitFor()
    await v1.getByText('label: int64 [N], probabilities: float32 [N, 3]').waitFor()

    await v1.getByRole('button', { name: 'Edit details' }).click()
    const details = v1.getByRole('group', { name: 'Edit version details' })
    await details.getByLabel('Intended use').fill('Teaching the registry; not for real flowers.')
    await details.getByLabel('Tags').fill('team=plants, stage=demo')
    await details.getByRole('button', { name: 'Save details' }).click()
    await v1.getByText('team=plants').waitFor()
    // The generated card picks up the intended use.
    await v1.getByText('Teaching the registry; not for real flowers.').first().waitFor()
    await screenshot(page, 'models-imported')

    // A gate the imported model cannot pass (it has no metrics), set in the UI; then a forced promote.
    const gates = page.getByRole('group', { name: 'Promotion gates' })
    await gates.getByRole('button', { name: 'Edit gate' }).click()
    await gates.getByLabel('Metric thresholds').fill('test.accuracy >= 0.9')
    await gates.getByRole('button', { name: 'Save gate' }).click()
    await gates.getByText('production: test.accuracy >= 0.9').waitFor()

    await v1.getByRole('button', { name: 'Check gate' }).click()
    const checks = v1.getByRole('list', { name: 'Gate checks' })
    await checks.getByText('v1 has no metric "test.accuracy" (it has: none)').waitFor()
    const promote = v1.getByRole('button', { name: 'Promote v1 to production' })
    expect(await promote.isDisabled()).toBe(true)
    await v1.getByLabel('Force past the failed gate').check()
    await v1.getByLabel('Reason').fill('demo without metrics')
    await promote.click()
    await page.getByRole('table', { name: 'Aliases' }).locator('tr[data-alias="production"] .alias-version').filter({ hasText: 'v1' }).waitFor()
    const move = page.getByRole('list', { name: 'Alias history' }).getByRole('listitem').first()
    await move.getByText('forced').waitFor()
    await move.getByText('demo without metrics', { exact: false }).waitFor()
    await page.getByText(/^Audit log \(\d+ entries\)$/).click()
    await page
      .getByRole('table', { name: 'Audit log' })
      .getByRole('row')
      .filter({ hasText: 'alias.promote.forced' })
      .getByText('demo without metrics')
      .waitFor()
  })
})
