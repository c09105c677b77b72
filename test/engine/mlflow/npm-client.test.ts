import { createRequire } from 'node:module'
import { describe, expect, it, vi } from 'vitest'
import { startMlflowEngine } from './helpers.js'

// The package's index.js is `module.exports = require('./lib/mlflow').default`, while its types describe lib/mlflow.
const MLflow = createRequire(import.meta.url)('mlflow') as typeof import('mlflow').default

/**
 * Smoke test with a third-party client: the npm package `mlflow` 2.0.7 (a Node
 * client nobody here wrote) logs a run into Lathe. Its known bugs, which the test
 * steps around and pins down:
 * - every POST body is console.log()ged (silenced here);
 * - Experiments.list calls experiments/list, which no MLflow 2.x/3.x server has (404 ENDPOINT_NOT_FOUND);
 * - Experiments.setExperimentTag posts to "experimentsset-experiment-tag" (a missing slash: 404);
 * - JSON.stringify sends NaN as null: Lathe refuses it with a 400 instead of logging 0.0;
 * - any non-200 throws Error('Error: {status,statusText,data}'), so the test reads the status from the text.
 */
describe('the npm package mlflow (third-party Node client)', () => {
  it('creates an experiment and a run, logs params, metrics, a batch and tags, reads them back, searches, and finishes the run', async () => {
    const host = await startMlflowEngine()
    vi.spyOn(console, 'log').mockImplementation(() => {})
    // Its typings make optional fields required (artifact_location, path) and type status as a numeric enum; the wire takes names.
    const mlflow: any = new MLflow({ endpoint: host.api.url, headers: { Authorization: `Bearer ${host.api.token}` } })

    const { experiment_id } = await mlflow.Experiments.create({ name: 'node-smoke' })
    expect((await mlflow.Experiments.get({ experiment_id })).experiment.name).toBe('node-smoke')
    const { run } = await mlflow.Runs.create({
      experiment_id,
      user_id: 'nodeuser',
      start_time: Date.now(),
      tags: [{ key: 'mlflow.source.name', value: 'smoke.js' }],
    })
    const run_id = run.info.run_id
    await mlflow.Runs.logParameter({ run_id, key: 'lr', value: '0.1' })
    await mlflow.Runs.logMetric({ run_id, key: 'loss', value: 0.9, timestamp: 1000, step: 0 })
    await mlflow.Runs.logMetric({ run_id, key: 'loss', value: 0.4, timestamp: 2000, step: 1 })
    await mlflow.Runs.logBatch({
      run_id,
      metrics: [{ key: 'acc', value: 0.8, timestamp: 3000, step: 1 }],
      params: [{ key: 'layers', value: '2' }],
      tags: [{ key: 'team', value: 'js' }],
    })
    await mlflow.Runs.setTag({ run_id, key: 'note', value: 'from node' })

    const got = (await mlflow.Runs.get({ run_id })).run
    expect(got.data.params).toEqual([
      { key: 'layers', value: '2' },
      { key: 'lr', value: '0.1' },
    ])
    expect(got.data.metrics).toEqual([
      { key: 'acc', value: 0.8, timestamp: 3000, step: 1 },
      { key: 'loss', value: 0.4, timestamp: 2000, step: 1 },
    ])
    expect(Object.fromEntries(got.data.tags.map((t: { key: string; value: string }) => [t.key, t.value]))).toMatchObject({
      team: 'js',
      note: 'from node',
      'mlflow.source.name': 'smoke.js',
    })
    const history = await mlflow.Metrics.getHistory({ run_id, metric_key: 'loss' })
    expect(history.metrics.map((m: { value: number }) => m.value)).toEqual([0.9, 0.4])
    const found = await mlflow.Runs.search({ experiment_ids: [experiment_id], filter: 'metrics.loss < 0.5' })
    expect(found.runs.map((r: { info: { run_id: string } }) => r.info.run_id)).toEqual([run_id])
    expect(await mlflow.Artifacts.list({ run_id })).toEqual({ root_uri: run.info.artifact_uri })
    expect((await mlflow.Runs.update({ run_id, status: 'FINISHED', end_time: Date.now() })).run_info.status).toBe('FINISHED')

    // Its bugs, answered with MLflow-shaped 4xx errors rather than anything the client would retry.
    await expect(mlflow.Experiments.list({})).rejects.toThrow(/"status":404.*ENDPOINT_NOT_FOUND/)
    await expect(mlflow.Experiments.setExperimentTag({ experiment_id, key: 'k', value: 'v' })).rejects.toThrow(/"status":404/)
    await expect(mlflow.Runs.logMetric({ run_id, key: 'loss', value: NaN, timestamp: 4000, step: 2 })).rejects.toThrow(/"status":400.*INVALID_PARAMETER_VALUE/)

    // The run is a Lathe run: the Runs page and `lathe runs show` read it through the contract.
    const shown = await host.engine.call('mlflow.runs.show', { run: run_id })
    expect(shown.run).toMatchObject({ client: 'node', userId: 'nodeuser', sourceName: 'smoke.js', status: 'FINISHED', params: { lr: '0.1', layers: '2' } })
    expect(shown.series.loss!.map((p) => p.value)).toEqual([0.9, 0.4])
  })
})
