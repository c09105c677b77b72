import { describe, expect, it } from 'vitest'
import { Engine } from '../../src-main/engine/engine.js'
import { expectedImported, expectedIris, importedTensorOnnx, irisClassifierOnnx, writeModel } from '../fixtures/serving/onnx-models.js'
import { tempDir } from '../helpers/workspace.js'
import { openApp, screenshot, startUi } from './harness.js'

describe('the Serving page', () => {
  it('starts the endpoint, deploys a model and calls it from the "try it" form', async () => {
    // A workspace whose registry holds the iris classifier (imported ONNX), v1 in production.
    const workspace = tempDir('lathe-e2e-serving-')
    const engine = Engine.open({ workspaceDir: workspace, holder: 'e2e setup' })
    await engine.call('registry.versions.import', { file: writeModel(tempDir(), 'iris', irisClassifierOnnx()), name: 'iris' })
    await engine.call('registry.promote', { model: 'iris', version: 1, alias: 'production', force: true, reason: 'e2e setup' })
    // A second model, a plain tensor model with no production version: deployed by hand, pinned to v1.
    await engine.call('registry.versions.import', { file: writeModel(tempDir(), 'tensor', importedTensorOnnx()), name: 'tensor' })
    await engine.close()

    const ui = await startUi(workspace)
    const page = await openApp(ui)
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Serving' }).click()
    await page.getByRole('heading', { name: 'Serving', level: 1 }).waitFor()

    await page.getByRole('textbox', { name: 'Port' }).fill('0')
    await page.getByRole('button', { name: 'Start endpoint' }).click()
    const url = page.getByTestId('endpoint-url')
    await url.waitFor()
    expect(await url.textContent()).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)

    // Starting serves every model with a production version; others are deployed from the form.
    const deployments = page.getByRole('table', { name: 'Deployments' })
    await deployments.locator('tbody tr').filter({ hasText: 'iris' }).filter({ hasText: 'ready' }).waitFor()
    await page.getByRole('combobox', { name: 'Model to deploy' }).selectOption('tensor')
    await page.getByRole('textbox', { name: 'Alias or version' }).fill('1')
    await page.getByRole('button', { name: 'Deploy', exact: true }).click()
    await deployments.locator('tbody tr').filter({ hasText: 'tensor' }).filter({ hasText: 'pinned v1' }).waitFor()
    await deployments.locator('tbody tr').filter({ hasText: 'iris' }).click()
    await page.getByRole('heading', { name: 'Try iris v1' }).waitFor()

    const row = { petal_length: 4.5, petal_width: 1.5, color: 'green' }
    const form = page.getByRole('form', { name: 'Try it' })
    await form.getByRole('textbox', { name: 'petal_length' }).fill(String(row.petal_length))
    await form.getByRole('textbox', { name: 'petal_width' }).fill(String(row.petal_width))
    await form.getByRole('textbox', { name: 'color' }).fill(row.color)
    await form.getByRole('button', { name: 'Predict' }).click()
    const prediction = page.getByTestId('prediction')
    await prediction.waitFor()
    expect(await prediction.textContent()).toBe(expectedIris(row).label)
    await page.getByRole('region', { name: 'Prediction' }).filter({ hasText: 'HTTP 200' }).waitFor()

    // The request shows in the recent requests table (polled), and the curl names the endpoint.
    await page.getByRole('table', { name: 'Recent requests' }).locator('tbody tr').filter({ hasText: '200' }).first().waitFor()
    expect(await page.getByLabel('curl example').textContent()).toContain(`${await url.textContent()}/invocations`)
    await screenshot(page, 'serving-try-it')

    // A tensor model is tried with its v2 request body.
    await deployments.locator('tbody tr').filter({ hasText: 'tensor' }).click()
    await page.getByRole('heading', { name: 'Try tensor v1' }).waitFor()
    const body = { inputs: [{ name: 'input', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3, 4] }] }
    await page.getByRole('textbox', { name: 'Request body' }).fill(JSON.stringify(body))
    await page.getByRole('form', { name: 'Try it' }).getByRole('button', { name: 'Predict' }).click()
    const answer = page.getByRole('region', { name: 'Prediction' }).filter({ hasText: 'HTTP 200' })
    await answer.waitFor()
    const shown = JSON.parse((await answer.locator('pre').textContent())!)
    expect(shown.outputs[0].data).toEqual(expectedImported([1, 2, 3, 4]))
    await screenshot(page, 'serving-try-it-tensor')
  }, 120_000)
})
