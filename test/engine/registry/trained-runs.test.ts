import path from 'node:path'
import { describe, expect, it } from 'vitest'
import type { Engine } from '../../../src-main/engine/engine.js'
import { resolveModelVersion } from '../../../src-main/engine/registry/resolve.js'
import { listAudit } from '../../../src-main/engine/workspace/audit.js'
import { openTestEngine, tempDir } from '../../helpers/workspace.js'

const penguins = path.resolve('node_modules/vega-datasets/data/penguins.json')

/** Two real runs on the penguins data: a fair linear model and a barely trained one. */
async function trainTwo(engine: Engine) {
  await engine.call('data.import', { name: 'penguins', path: penguins })
  const common = { dataset: 'penguins@1', target: 'Species', modelFamily: 'linear' as const, seed: 7 }
  const good = await engine.call('training.start', {
    ...common,
    params: { epochs: 40, learningRate: 0.05, batchSize: 32 },
    registerAs: 'penguins',
  })
  const goodRun = await engine.call('training.runs.wait', { run: good.id })
  const weak = await engine.call('training.start', { ...common, params: { epochs: 1, learningRate: 0.0001, batchSize: 256 } })
  const weakRun = await engine.call('training.runs.wait', { run: weak.id })
  expect(goodRun.status).toBe('finished')
  expect(weakRun.status).toBe('finished')
  return { goodRun, weakRun }
}

describe('model versions from real training runs', () => {
  it('auto-registers a run with registerAs, registers another by hand, gates on re-evaluated accuracy, and carries v1 to another workspace', async () => {
    const engine = openTestEngine()
    // Any registry call starts the auto-register listener (the engine may also start it at open).
    expect(await engine.call('registry.models.list', {})).toEqual([])
    const { goodRun, weakRun } = await trainTwo(engine)

    const auto = await engine.call('registry.models.show', { model: 'penguins' })
    expect(auto.versions).toHaveLength(1)
    const v1 = auto.versions[0]!
    expect(v1).toMatchObject({ version: 1, runId: goodRun.id, source: 'run', onnxSha256: goodRun.model!.onnxSha256 })
    expect(v1.dataset).toEqual(goodRun.dataset)
    expect(v1.metrics['test.accuracy']).toBe(goodRun.metrics!.test.accuracy)
    expect(v1.signature.target).toBe('Species')

    const v2 = await engine.call('registry.versions.register', { runId: weakRun.id, name: 'penguins' })
    expect(v2.version).toBe(2)
    // Registering the same run again returns the version it already is.
    expect((await engine.call('registry.versions.register', { runId: weakRun.id, name: 'penguins' })).versionId).toBe(v2.versionId)

    await engine.call('registry.gate.set', {
      model: 'penguins',
      alias: 'production',
      gate: { thresholds: [{ metric: 'test.accuracy', op: '>=', value: 0.5 }], noWorseThan: { metric: 'accuracy', tolerance: 0 } },
    })
    const promoted = await engine.call('registry.promote', { model: 'penguins', version: 1, alias: 'production' })
    expect(promoted.gate.passed).toBe(true)
    expect(promoted.gate.checks.map((c) => [c.name, c.passed])).toEqual([
      ['metric test.accuracy >= 0.5', true],
      ['no worse than current on accuracy', true],
      ['signature compatible with current', true],
      ['training data validation passed', true],
    ])

    // The weak run loses when both are re-evaluated on its own test split (the same rows the runs were tested on).
    const check = await engine.call('registry.promote.check', { model: 'penguins', version: 2, alias: 'production' })
    const noWorse = check.gate.checks.find((c) => c.name === 'no worse than current on accuracy')!
    expect(noWorse.passed).toBe(false)
    const numbers = /v2 test\.accuracy = ([\d.]+) vs current v1 test\.accuracy = ([\d.]+) on penguins@1 test split, (\d+) rows/.exec(noWorse.detail)
    expect(numbers, noWorse.detail).not.toBeNull()
    // Re-evaluation in onnxruntime over DuckDB rows reproduces what training measured on its test split.
    expect(Number(numbers![2])).toBeCloseTo(goodRun.metrics!.test.accuracy!, 3)
    expect(Number(numbers![1])).toBeCloseTo(weakRun.metrics!.test.accuracy!, 3)
    expect(Number(numbers![3])).toBeGreaterThan(0)

    await expect(engine.call('registry.promote', { model: 'penguins', version: 2, alias: 'production' })).rejects.toThrow(
      /gate refused moving penguins:production to v2: .*no worse than current on accuracy: v2 test\.accuracy = [\d.]+ vs current v1/,
    )
    expect(resolveModelVersion(engine.context, 'penguins').version).toBe(1)

    const forced = await engine.call('registry.promote', { model: 'penguins', version: 2, alias: 'production', force: true, reason: 'testing the force path' })
    expect(forced).toMatchObject({ version: 2, previous: 1, forced: true })
    const audit = listAudit(engine.workspace.db, { entityType: 'model_alias', entityId: 'penguins:production' })
    expect(audit.at(-1)).toMatchObject({ action: 'alias.promote.forced', before: { version: 1 }, reason: 'testing the force path' })

    const back = await engine.call('registry.rollback', { model: 'penguins', alias: 'production' })
    expect(back).toMatchObject({ version: 1, previous: 2 })
    expect(resolveModelVersion(engine.context, 'penguins')).toMatchObject({ version: 1, runId: goodRun.id, datasetVersionId: goodRun.dataset.versionId })

    // Carried to a workspace that has neither the run nor the data: same identity, lineage from the package.
    const zip = path.join(tempDir(), 'penguins-v1.zip')
    await engine.call('registry.export', { model: 'penguins', version: 'production', file: zip })
    const other = openTestEngine()
    const { version: copy } = await other.call('registry.importPackage', { file: zip })
    expect(copy).toMatchObject({
      versionId: v1.versionId,
      version: 1,
      onnxSha256: v1.onnxSha256,
      runId: goodRun.id,
      dataset: goodRun.dataset,
      metrics: v1.metrics,
    })
    const carried = await other.call('registry.lineage', { model: 'penguins', version: '1' })
    expect(carried.nodes.map((n) => [n.kind, n.present])).toEqual([
      ['model_version', true],
      ['run', false],
      ['dataset_version', false],
      ['source', false],
    ])
    expect(carried.nodes.find((n) => n.kind === 'source')!.label).toBe('penguins.json')
  })

  it('draws lineage from a version to its run, transform, dataset versions and source file, and back from the data', async () => {
    const engine = openTestEngine()
    await engine.call('registry.models.list', {})
    await engine.call('data.import', { name: 'penguins', path: penguins })
    const sql = 'SELECT * FROM penguins@1 WHERE "Sex" IS NOT NULL'
    await engine.call('data.transform', { name: 'penguins-sexed', sql })
    const started = await engine.call('training.start', {
      dataset: 'penguins-sexed@1',
      target: 'Species',
      modelFamily: 'linear',
      params: { epochs: 3 },
      registerAs: 'penguins',
    })
    const run = await engine.call('training.runs.wait', { run: started.id })
    expect(run.status).toBe('finished')

    const lineage = await engine.call('registry.lineage', { model: 'penguins', version: '1' })
    const label = new Map(lineage.nodes.map((n) => [n.id, n.label]))
    expect(lineage.edges.map((e) => `${label.get(e.from)} -${e.label}-> ${label.get(e.to)}`)).toEqual([
      `penguins v1 -trained by-> ${run.id.slice(0, 12)}`,
      `${run.id.slice(0, 12)} -trained on-> penguins-sexed@1`,
      'penguins-sexed@1 -made by-> SQL transform',
      'SQL transform -reads-> penguins@1',
      'penguins@1 -imported from-> penguins.json',
    ])
    const byKind = Object.fromEntries(lineage.nodes.map((n) => [n.kind, n]))
    expect(byKind.run!.detail).toMatchObject({ id: run.id, status: 'finished', modelFamily: 'linear' })
    expect(byKind.transform!.detail).toMatchObject({ sql })
    expect(byKind.source!.detail.sha256).toMatch(/^[0-9a-f]{64}$/)
    expect(lineage.nodes.every((n) => n.present)).toBe(true)

    // Back from the data: trained on the derived version directly, on the imported one through the transform.
    const onDerived = await engine.call('registry.lineage.trainedOn', { dataset: 'penguins-sexed@1' })
    expect(onDerived).toEqual([{ model: 'penguins', version: 1, versionId: expect.any(String), runId: run.id, dataset: 'penguins-sexed@1', direct: true }])
    const onSource = await engine.call('registry.lineage.trainedOn', { dataset: 'penguins@1' })
    expect(onSource).toMatchObject([{ model: 'penguins', version: 1, dataset: 'penguins-sexed@1', direct: false }])
    await engine.call('data.import', { name: 'weather', path: path.resolve('node_modules/vega-datasets/data/seattle-weather.csv') })
    expect(await engine.call('registry.lineage.trainedOn', { dataset: 'weather' })).toEqual([])
  })

  it('refuses a version whose training data failed validation, unless forced', async () => {
    const engine = openTestEngine()
    await engine.call('data.import', { name: 'penguins', path: penguins })
    const started = await engine.call('training.start', { dataset: 'penguins', target: 'Species', modelFamily: 'linear', params: { epochs: 2 } })
    expect((await engine.call('training.runs.wait', { run: started.id })).status).toBe('finished')
    await engine.call('registry.versions.register', { runId: started.id, name: 'penguins' })
    await engine.call('data.rules.set', { dataset: 'penguins', rules: [{ kind: 'not_null', column: 'Sex' }] })
    const validated = await engine.call('data.validate', { dataset: 'penguins@1' })
    expect(validated.status).toBe('failed')
    await expect(engine.call('registry.promote', { model: 'penguins', version: 1, alias: 'staging' })).rejects.toThrow(
      /training data validation passed: penguins@1 failed its validation rules/,
    )
    expect(() => resolveModelVersion(engine.context, 'penguins', 'staging')).toThrow(/no alias "staging"/)
    const forced = await engine.call('registry.promote', {
      model: 'penguins',
      version: 1,
      alias: 'staging',
      force: true,
      reason: 'data rules written after training',
    })
    expect(forced.forced).toBe(true)
  })

  it('registers a run that finished with registerAs before anything touched the registry, on the next registry call', async () => {
    const engine = openTestEngine()
    await engine.call('data.import', { name: 'penguins', path: penguins })
    const started = await engine.call('training.start', {
      dataset: 'penguins',
      target: 'Species',
      modelFamily: 'linear',
      params: { epochs: 2 },
      registerAs: 'late',
    })
    expect((await engine.call('training.runs.wait', { run: started.id })).status).toBe('finished')
    const models = await engine.call('registry.models.list', {})
    expect(models).toMatchObject([{ name: 'late', versionCount: 1, latestVersion: 1 }])
    expect((await engine.call('registry.models.show', { model: 'late' })).versions[0]!.runId).toBe(started.id)
    // Later calls do not register it twice.
    expect((await engine.call('registry.models.list', {}))[0]!.versionCount).toBe(1)
  })
})

describe('gates on regression models', () => {
  it('compares RMSE with lower-is-better, and refuses a move when the alias moved while the gate ran', async () => {
    const engine = openTestEngine()
    await engine.call('data.import', { name: 'penguins', path: penguins })
    const versions: number[] = []
    const runs = []
    for (const params of [
      { epochs: 40, learningRate: 0.05, batchSize: 32 },
      { epochs: 1, learningRate: 0.0001 },
    ]) {
      const started = await engine.call('training.start', { dataset: 'penguins', target: 'Body Mass (g)', modelFamily: 'linear', params, seed: 3 })
      const run = await engine.call('training.runs.wait', { run: started.id })
      expect(run.status).toBe('finished')
      runs.push(run)
      versions.push((await engine.call('registry.versions.register', { runId: run.id, name: 'mass' })).version)
    }
    expect(versions).toEqual([1, 2])
    for (const alias of ['production', 'staging']) {
      await engine.call('registry.gate.set', { model: 'mass', alias, gate: { noWorseThan: { metric: 'test.rmse', tolerance: 0 } } })
      await engine.call('registry.promote', { model: 'mass', version: 1, alias })
    }

    const check = await engine.call('registry.promote.check', { model: 'mass', version: 2, alias: 'production' })
    const rule = check.gate.checks.find((c) => c.name === 'no worse than current on test.rmse')!
    const numbers = /v2 test\.rmse = ([\d.]+) vs current v1 test\.rmse = ([\d.]+) on penguins@1 test split, \d+ rows \(lower is better\)/.exec(rule.detail)
    expect(numbers, rule.detail).not.toBeNull()
    expect(rule.passed).toBe(false)
    expect(Number(numbers![1])).toBeGreaterThan(Number(numbers![2]))
    // Training measured RMSE on the same rows in grams; the re-evaluation agrees (float32 ONNX vs tfjs: within a gram).
    expect(Math.abs(Number(numbers![2]) - runs[0]!.metrics!.test.rmse!)).toBeLessThan(1)

    // Two forced moves of one alias at once: both gates compare against v1, so only the first to commit may move it.
    const results = await Promise.allSettled([
      engine.call('registry.promote', { model: 'mass', version: 2, alias: 'staging', force: true, reason: 'race' }),
      engine.call('registry.promote', { model: 'mass', version: 2, alias: 'staging', force: true, reason: 'race' }),
    ])
    expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected'])
    const rejected = results.find((r) => r.status === 'rejected') as PromiseRejectedResult
    expect(String(rejected.reason.message)).toMatch(/mass:staging moved while its gate was running; try again/)
    const history = await engine.call('registry.history', { model: 'mass', alias: 'staging' })
    expect(history.moves.map((m) => m.version)).toEqual([1, 2])
  })
})
