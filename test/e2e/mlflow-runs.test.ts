import { describe, expect, it } from 'vitest'
import { TestMlflowClient } from '../engine/mlflow/client.js'
import { openApp, screenshot, startUi } from './harness.js'

// A 1x1 red PNG.
const png = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==', 'base64')

describe('the Runs page shows runs logged from scripts through the MLflow API', () => {
  it('lists the run with its metrics, opens it: params, tags, curve, and the artifact browser previews text, JSON, CSV and an image', async () => {
    const ui = await startUi()
    const client = new TestMlflowClient(ui.url, ui.token)
    const { experiment_id } = await client.call('POST', 'experiments/create', { name: 'from-python' })
    const { run } = await client.call('POST', 'runs/create', {
      experiment_id,
      user_id: 'alice',
      start_time: Date.now(),
      tags: [
        { key: 'mlflow.source.name', value: 'train.py' },
        { key: 'team', value: 'vision' },
      ],
    })
    const runId = run.info.run_id as string
    await client.call('POST', 'runs/log-batch', {
      run_id: runId,
      params: [{ key: 'lr', value: '0.01' }],
      metrics: Array.from({ length: 50 }, (_, i) => ({ key: 'loss', value: 1 / (i + 1), timestamp: i, step: i })),
    })
    const uri = run.info.artifact_uri as string
    await client.putArtifact(uri, 'notes.txt', 'plain words here', 'text/plain')
    await client.putArtifact(uri, 'config.json', '{"layers":[64,64],"lr":0.01}', 'text/plain')
    await client.putArtifact(uri, 'plots/table.csv', 'epoch,loss\n1,0.9\n2,0.4\n', 'text/plain')
    await client.putArtifact(uri, 'plots/dot.png', png, 'image/png')

    const page = await openApp(ui)
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Runs' }).click()
    const table = page.getByRole('table', { name: 'Runs from scripts' })
    await table.waitFor()
    const row = table.getByRole('row').filter({ hasText: run.info.run_name })
    await expect.poll(() => row.textContent()).toContain('loss 0.02000')
    await expect.poll(() => row.textContent()).toContain('train.py')
    await row.click()

    await page.getByRole('table', { name: 'Params' }).getByText('0.01').waitFor()
    await page.getByRole('table', { name: 'Tags' }).getByText('vision').waitFor()
    await page.getByRole('figure', { name: 'loss' }).waitFor()
    const artifacts = page.getByRole('region', { name: 'Artifacts' })
    await artifacts.getByRole('button', { name: 'file notes.txt' }).click()
    await page.getByRole('figure', { name: 'preview of notes.txt' }).getByText('plain words here').waitFor()
    await artifacts.getByRole('button', { name: 'file config.json' }).click()
    await expect.poll(() => page.getByRole('figure', { name: 'preview of config.json' }).locator('pre').textContent()).toContain('"layers": [')
    await artifacts.getByRole('button', { name: 'folder plots' }).click()
    await artifacts.getByRole('button', { name: 'file plots/table.csv' }).click()
    await page.getByRole('table', { name: 'table plots/table.csv' }).getByRole('cell', { name: '0.4' }).waitFor()
    await artifacts.getByRole('button', { name: 'file plots/dot.png' }).click()
    const image = page.getByRole('img', { name: 'plots/dot.png' })
    await image.waitFor()
    await expect.poll(() => image.evaluate((img: HTMLImageElement) => img.naturalWidth)).toBe(1)
    await screenshot(page, 'runs-mlflow-script-run')
  })
})
