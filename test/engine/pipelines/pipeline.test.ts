import fs from 'node:fs'
import { describe, expect, it } from 'vitest'
import { resolveModelVersion } from '../../../src-main/engine/registry/resolve.js'
import { openTestEngine } from '../../helpers/workspace.js'
import { exampleYaml, expectPassed, runPipeline, statusesOf, weatherProject } from './helpers.js'

describe('lathe.yaml pipelines', () => {
  it('the example runs as written; a second run runs no stage and reuses every output', async () => {
    const engine = openTestEngine()
    const { file } = weatherProject()

    const first = await runPipeline(engine, file)
    expectPassed(first)
    expect(statusesOf(first)).toEqual({ raw: 'ran', recent: 'ran', model: 'ran', release: 'ran' })
    const raw = first.stages.find((s) => s.stage === 'raw')!.output
    expect(raw).toMatchObject({ type: 'dataset', dataset: 'weather.raw', version: 1, rows: 1461 })
    // 2013-2015 of the four years.
    expect(first.stages.find((s) => s.stage === 'recent')!.output).toMatchObject({ dataset: 'weather.recent', rows: 1095 })
    const model = first.stages.find((s) => s.stage === 'model')!.output!
    expect(model).toMatchObject({ type: 'model', model: 'weather', version: 1 })
    const release = first.stages.find((s) => s.stage === 'release')!.output!
    expect(release).toMatchObject({ type: 'promotion', model: 'weather', alias: 'production', version: 1, previous: null })
    expect(release.type === 'promotion' && release.gate.checks.map((c) => c.name)).toEqual(
      expect.arrayContaining(['metric test.accuracy >= 0.6', 'no worse than current on accuracy']),
    )
    expect(resolveModelVersion(engine.context, 'weather', 'production').version).toBe(1)

    // The version carries the pipeline in its lineage.
    const lineage = await engine.call('registry.lineage', { model: 'weather', version: '1' })
    expect(lineage.nodes.find((n) => n.kind === 'pipeline')).toMatchObject({ label: `pipeline weather (run ${first.id})` })

    const second = await runPipeline(engine, file)
    expectPassed(second)
    expect(statusesOf(second)).toEqual({ raw: 'skipped', recent: 'skipped', model: 'skipped', release: 'skipped' })
    expect(second.stages.map((s) => s.output)).toEqual(first.stages.map((s) => s.output))
    const runs = await engine.call('training.runs.list', {})
    expect(runs.runs).toHaveLength(1)
    const history = await engine.call('pipelines.runs.list', { pipeline: 'weather' })
    expect(history.runs.map((r) => r.id)).toEqual([second.id, first.id])
  })

  it('a changed CSV makes exactly raw and what reads it stale, and the next run re-runs only those', async () => {
    const engine = openTestEngine()
    // The example plus a stage that does not read raw: it must stay up to date.
    const yaml = `pipeline: weather
stages:
  raw:
    import: data/seattle-weather.csv
  recent:
    sql: SELECT * FROM raw WHERE year(date) >= 2013
  model:
    train: {dataset: recent, target: weather, exclude: [date], model: linear, epochs: 5, seed: 7}
    register: weather
  release:
    promote: {model: model, alias: production}
    gate: {min: {test.accuracy: 0.3}}
  holdout:
    import: data/holdout.csv
`
    const { dir, file, csv } = weatherProject({ yaml })
    fs.writeFileSync(`${dir}/data/holdout.csv`, fs.readFileSync(csv, 'utf8').split('\n').slice(0, 50).join('\n'))
    expectPassed(await runPipeline(engine, file))
    const fresh = await engine.call('pipelines.status', { file })
    expect(fresh.upToDate).toBe(true)
    expect(fresh.stages.map((s) => s.state)).toEqual(['up-to-date', 'up-to-date', 'up-to-date', 'up-to-date', 'up-to-date'])

    // A day of 2016 arrives.
    fs.appendFileSync(csv, '2016-01-01,0.3,9.4,3.9,2.8,rain\n')
    const status = await engine.call('pipelines.status', { file })
    expect(status.upToDate).toBe(false)
    const state = Object.fromEntries(status.stages.map((s) => [s.stage, s.state]))
    expect(state).toEqual({ raw: 'stale', recent: 'stale', model: 'stale', release: 'stale', holdout: 'up-to-date' })
    expect(status.stages.find((s) => s.stage === 'raw')!.reason).toBe('data/seattle-weather.csv changed')
    expect(status.stages.find((s) => s.stage === 'recent')!.reason).toBe('upstream "raw" stale')

    const rerun = await runPipeline(engine, file)
    expectPassed(rerun)
    expect(statusesOf(rerun)).toEqual({ raw: 'ran', recent: 'ran', model: 'ran', release: 'ran', holdout: 'skipped' })
    expect(rerun.stages.find((s) => s.stage === 'raw')!.output).toMatchObject({ version: 2, rows: 1462 })
    expect(rerun.stages.find((s) => s.stage === 'release')!.output).toMatchObject({ version: 2, previous: 1 })
    expect((await engine.call('pipelines.status', { file })).upToDate).toBe(true)

    // A changed SQL re-runs from recent on; raw stays.
    fs.writeFileSync(file, yaml.replace('>= 2013', '>= 2014'))
    const afterSql = Object.fromEntries((await engine.call('pipelines.status', { file })).stages.map((s) => [s.stage, s.state]))
    expect(afterSql).toEqual({ raw: 'up-to-date', recent: 'stale', model: 'stale', release: 'stale', holdout: 'up-to-date' })
  })

  it('a violated rule stops the pipeline at raw: nothing downstream runs and production stays', async () => {
    const engine = openTestEngine()
    const { file, csv } = weatherProject({ rules: true })
    expectPassed(await runPipeline(engine, file))
    expect(resolveModelVersion(engine.context, 'weather', 'production').version).toBe(1)

    // A sensor fault: 61 degrees in Seattle.
    fs.appendFileSync(csv, '2016-01-01,0.0,61.0,5.0,4.7,sun\n')
    const run = await runPipeline(engine, file)
    expect(run.status).toBe('failed')
    expect(run.failedStage).toBe('raw')
    expect(run.error).toContain('temp_max')
    expect(statusesOf(run)).toEqual({ raw: 'failed', recent: 'not run', model: 'not run', release: 'not run' })
    expect(resolveModelVersion(engine.context, 'weather', 'production').version).toBe(1)
    expect((await engine.call('registry.models.show', { model: 'weather' })).versions).toHaveLength(1)
    // Still stale, so the next run tries raw again.
    const status = await engine.call('pipelines.status', { file })
    expect(status.stages.find((s) => s.stage === 'raw')!.state).toBe('stale')
  })

  it('the report holds the stages, the metrics beside production, the gate checks and the drift', async () => {
    const engine = openTestEngine()
    const { file, csv } = weatherProject()
    expectPassed(await runPipeline(engine, file))
    fs.appendFileSync(csv, '2016-01-01,0.3,9.4,3.9,2.8,rain\n2016-01-02,0.0,8.3,2.2,3.1,sun\n')
    const run = await runPipeline(engine, file)
    const { markdown } = await engine.call('pipelines.report', { run: run.id })
    expect(markdown).toContain('| raw | import | ran | weather.raw@2 (1463 rows)')
    expect(markdown).toMatch(/\| test\.accuracy \| 0\.\d{4} \| 0\.\d{4} \|/)
    expect(markdown).toContain('(production)')
    expect(markdown).toContain('#### Gate for production:')
    expect(markdown).toMatch(/\| metric test\.accuracy >= 0\.6 \| (✅ pass|❌ fail) \| v2 test\.accuracy = /)
    expect(markdown).toMatch(/\| no worse than current on accuracy \| (✅ pass|❌ fail) \| v2 test\.accuracy = .* vs current v1 /)
    expect(markdown).toContain("#### Drift of the new training data against v1's training data")
    expect(markdown).toMatch(/\| temp_max \| \w+ \| [\d.]+ \|/)
  })

  it('a refused gate fails the release stage: production does not move, and the report lists the failed check', async () => {
    const engine = openTestEngine()
    const { file } = weatherProject({ yaml: exampleYaml.replace('test.accuracy: 0.6', 'test.accuracy: 0.99') })
    const run = await runPipeline(engine, file)
    expect(run.status).toBe('failed')
    expect(run.failedStage).toBe('release')
    expect(run.error).toContain('gate refused moving weather:production to v1')
    expect(statusesOf(run)).toEqual({ raw: 'ran', recent: 'ran', model: 'ran', release: 'failed' })
    expect((await engine.call('registry.models.show', { model: 'weather' })).model.aliases).toEqual([])
    const { markdown } = await engine.call('pipelines.report', { run: run.id })
    expect(markdown).toContain('## ❌ Pipeline `weather`: failed')
    expect(markdown).toContain('#### Gate for production: **refused**')
    expect(markdown).toMatch(/\| metric test\.accuracy >= 0\.99 \| ❌ fail \| v1 test\.accuracy = 0\.\d{4}, required >= 0\.99 \|/)
    // The trained version is kept (registered, not promoted); a re-run with a kinder gate promotes it without training again.
    fs.writeFileSync(file, exampleYaml)
    const again = await runPipeline(engine, file)
    expectPassed(again)
    expect(statusesOf(again)).toEqual({ raw: 'skipped', recent: 'skipped', model: 'skipped', release: 'ran' })
    expect(resolveModelVersion(engine.context, 'weather', 'production').version).toBe(1)
  })
})
