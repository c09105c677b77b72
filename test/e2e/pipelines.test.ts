import { describe, expect, it } from 'vitest'
import { createHttpClient } from '../../src-main/engine/api/common/client.js'
import type { Contract } from '../../src-main/engine/contract.js'
import { weatherProject } from '../engine/pipelines/helpers.js'
import { openApp, screenshot, startUi } from './harness.js'

describe('the Pipelines page', () => {
  it("shows the graph with each stage's state and the run history; Run from here re-runs that stage and what follows", async () => {
    const ui = await startUi()
    const client = createHttpClient<Contract>({ baseUrl: ui.url, token: ui.token })
    const { file } = weatherProject()
    let run = await client.call('pipelines.run', { file, trigger: 'api' })
    while (run.status === 'running') run = await client.call('pipelines.runs.wait', { run: run.id, timeoutMs: 30_000 })
    expect(run.status).toBe('passed')

    const page = await openApp(ui)
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Pipelines' }).click()
    await page.getByRole('heading', { level: 1, name: 'Pipelines' }).waitFor()
    const graph = page.getByRole('list', { name: 'Stages of weather' })
    await graph.waitFor()
    for (const stage of ['raw', 'recent', 'model', 'release']) {
      await graph.getByRole('listitem', { name: `stage ${stage}: up-to-date` }).waitFor()
    }
    // Stages link to what they made.
    await expect.poll(() => graph.getByRole('link', { name: 'weather v1' }).count()).toBe(1)
    const history = page.getByRole('table', { name: 'Pipeline runs' })
    await history.getByText(run.id).waitFor()

    await graph.getByRole('button', { name: 'run from model' }).click()
    // The new run appears, and ends with model and release run again, raw and recent skipped.
    await page.getByRole('table', { name: 'Pipeline runs' }).getByText('passed').nth(1).waitFor({ timeout: 120_000 })
    const runs = await client.call('pipelines.runs.list', { pipeline: 'weather' })
    expect(runs.runs).toHaveLength(2)
    expect(runs.runs[0]!.stages.map((s: { stage: string; status: string }) => `${s.stage}:${s.status}`)).toEqual([
      'raw:skipped',
      'recent:skipped',
      'model:ran',
      'release:ran',
    ])
    expect(runs.runs[0]!.trigger).toBe('ui')
    await graph.getByRole('listitem', { name: 'stage release: up-to-date' }).waitFor()
    await screenshot(page, 'pipelines')
  })
})
