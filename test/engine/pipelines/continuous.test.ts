import fs from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { resolveModelVersion } from '../../../src-main/engine/registry/resolve.js'
import { listAudit } from '../../../src-main/engine/workspace/audit.js'
import { openTestEngine } from '../../helpers/workspace.js'
import { replayWeatherDays } from '../monitoring/engineHelpers.js'
import { expectPassed, runPipeline, weatherProject } from './helpers.js'

/**
 * Continuous training as code: the history plus the served model's labelled traffic,
 * trained again and promoted only through the gate. The same file a person runs.
 */
const retrainYaml = `pipeline: weather-ct
stages:
  history:
    import: data/seattle-weather.csv
  traffic:
    labelled_traffic: weather
    last: 300
  combined:
    sql: SELECT * EXCLUDE (date) FROM history UNION ALL BY NAME SELECT * FROM traffic
  model:
    train: {dataset: combined, target: weather, model: mlp, epochs: 40, seed: 7}
    register: weather
  release:
    promote: {model: model, alias: production}
    gate: {min: {test.accuracy: 0.6}, not_worse_than: {metric: accuracy, tolerance: 0.02}}
`

describe("a monitor's run-pipeline action", () => {
  it('re-runs the pipeline on drift and promotes through the gate, audited with the alert id', async () => {
    const engine = openTestEngine()
    const { dir, file } = weatherProject()
    expectPassed(await runPipeline(engine, file))
    expect(resolveModelVersion(engine.context, 'weather', 'production').version).toBe(1)
    const retrain = path.join(dir, 'retrain.yaml')
    fs.writeFileSync(retrain, retrainYaml)

    await engine.call('monitoring.monitors.add', { name: 'weather', model: 'weather', spec: { window: { last: 365 } } })
    await engine.call('monitoring.rules.add', {
      monitor: 'weather',
      name: 'temperature drift',
      metric: 'feature.temp_max.drifted',
      op: '>=',
      threshold: 1,
      actions: [{ type: 'run-pipeline', file: retrain }],
    })
    // A hot 2015 reaches the endpoint, and its true labels arrive for 300 days.
    const hot = await replayWeatherDays(engine, { year: 2015, shiftTemp: 12, prefix: 'hot', limit: 365 })
    await engine.call('monitoring.feedback', {
      model: 'weather',
      items: hot.slice(0, 300).map((r) => ({ request_id: r.request_id, label: (r as unknown as { label: string }).label })),
    })
    const monitorRun = await engine.call('monitoring.monitors.run', { monitor: 'weather', waitForActions: true })
    expect(monitorRun.alerts).toHaveLength(1)

    const [alert] = await engine.call('monitoring.alerts.list', { model: 'weather' })
    const outcome = alert!.actions[0]!
    expect(outcome, outcome.detail).toMatchObject({ type: 'run-pipeline', status: 'done', promoted: true, version: 2 })
    expect(resolveModelVersion(engine.context, 'weather', 'production').version).toBe(2)

    const run = await engine.call('pipelines.runs.get', { run: outcome.pipelineRunId! })
    expect(run).toMatchObject({ pipeline: 'weather-ct', status: 'passed', trigger: 'monitor', cause: alert!.id })
    expect(run.stages.find((s) => s.stage === 'traffic')!.output).toMatchObject({ type: 'dataset', rows: 300 })
    expect(run.stages.find((s) => s.stage === 'combined')!.output).toMatchObject({ rows: 1461 + 300 })
    const gate = run.stages.find((s) => s.stage === 'release')!.output!
    expect(gate.type === 'promotion' && gate.gate.checks.every((c) => c.passed)).toBe(true)
    expect(gate.type === 'promotion' && gate.gate.checks.map((c) => c.name)).toContain('no worse than current on accuracy')

    const audit = listAudit(engine.workspace.db).filter((a) => JSON.stringify(a).includes(alert!.id))
    expect(audit.map((a) => a.action)).toEqual(expect.arrayContaining(['monitoring.pipeline.start', 'alias.promote', 'monitoring.pipeline.passed']))
  })
})
