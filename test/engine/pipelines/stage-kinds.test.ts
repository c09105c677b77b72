import fs from 'node:fs'
import { describe, expect, it } from 'vitest'
import { openTestEngine } from '../../helpers/workspace.js'
import { expectPassed, runPipeline, statusesOf, weatherProject } from './helpers.js'

const yaml = `pipeline: kinds
stages:
  raw:
    import: data/seattle-weather.csv
  early:
    sql: SELECT * FROM raw WHERE year(date) < 2014
  late:
    sql: |
      SELECT *
      FROM raw
      WHERE year(date) >= 2014
  parts:
    split: {dataset: raw, method: stratified, column: weather, seed: 3, train: 0.6, validation: 0.2, test: 0.2}
  search:
    sweep:
      dataset: parts
      target: weather
      exclude: [date]
      model: linear
      epochs: 4
      batch_size: 64
      space: {learningRate: [0.001, 0.05]}
      metric: accuracy
    register: kinds
  shift:
    drift: {reference: early, current: late, features: [precipitation, wind]}
`

describe('stage kinds', () => {
  it('split, sweep (best trial by the named metric, registered) and a passing drift check', async () => {
    const engine = openTestEngine()
    const { file } = weatherProject({ yaml })
    const run = await runPipeline(engine, file)
    expectPassed(run)
    expect(statusesOf(run)).toEqual({ raw: 'ran', early: 'ran', late: 'ran', parts: 'ran', search: 'ran', shift: 'ran' })
    const parts = run.stages.find((s) => s.stage === 'parts')!.output!
    expect(parts).toMatchObject({ type: 'split', dataset: 'kinds.raw', version: 1, split: { method: 'stratified', column: 'weather', seed: 3 } })
    expect(parts.type === 'split' && Object.values(parts.counts).reduce((a, b) => a + b, 0)).toBe(1461)

    const search = run.stages.find((s) => s.stage === 'search')!.output!
    expect(search).toMatchObject({ type: 'model', model: 'kinds', version: 1 })
    const sweep = await engine.call('training.sweep.show', { sweep: search.type === 'model' ? search.sweepId! : '' })
    expect(sweep.runs).toHaveLength(2)
    const best = sweep.runs.reduce((a, b) => ((a.metrics?.validation.accuracy ?? 0) >= (b.metrics?.validation.accuracy ?? 0) ? a : b))
    expect(search.type === 'model' && search.runId).toBe(best.id)
    // The trial trained on the split stage's spec.
    const { run: trial } = await engine.call('training.runs.show', { run: best.id })
    expect(trial.split).toMatchObject({ method: 'stratified', column: 'weather', seed: 3, train: 0.6 })

    expect(run.stages.find((s) => s.stage === 'shift')!.output).toMatchObject({ type: 'drift', reference: 'kinds.early@1', current: 'kinds.late@1' })
  })

  it('a drift check fails the pipeline when the drift rule holds, naming the drifted features', async () => {
    const engine = openTestEngine()
    const hot = `pipeline: hot
stages:
  raw:
    import: data/seattle-weather.csv
  warmer:
    import: data/warmer.csv
  check:
    drift: {reference: raw, current: warmer, features: [temp_max, temp_min], drift_share: 0.5}
  after:
    sql: SELECT * FROM warmer
`
    const { dir, file, csv } = weatherProject({ yaml: hot })
    const lines = fs.readFileSync(csv, 'utf8').trim().split('\n')
    const warmer = [
      lines[0],
      ...lines
        .slice(1)
        .map((l) => l.split(','))
        .map((c) => [c[0], c[1], Number(c[2]) + 15, Number(c[3]) + 15, c[4], c[5]].join(',')),
    ]
    fs.writeFileSync(`${dir}/data/warmer.csv`, `${warmer.join('\n')}\n`)
    const run = await runPipeline(engine, file)
    expect(run.status).toBe('failed')
    expect(run.failedStage).toBe('check')
    expect(run.error).toMatch(/hot\.warmer@1 drifted from hot\.raw@1: 2\/2 features \(temp_max, temp_min\)/)
    expect(statusesOf(run)).toMatchObject({ check: 'failed', after: 'not run' })
  })
})
