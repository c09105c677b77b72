import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { resolveModelVersion } from '../../../src-main/engine/registry/resolve.js'
import { openTestEngine } from '../../helpers/workspace.js'

const penguins = path.resolve('node_modules/vega-datasets/data/penguins.json')

describe('safe promotion defaults', () => {
  it('production refuses a worse version by default, naming both accuracies; a forced move needs a reason; a protected alias gets the same check', async () => {
    const engine = openTestEngine()
    await engine.call('data.import', { name: 'penguins', path: penguins })
    const common = { dataset: 'penguins@1', target: 'Species', modelFamily: 'linear' as const, seed: 7 }
    for (const params of [
      { epochs: 40, learningRate: 0.05, batchSize: 32 },
      { epochs: 1, learningRate: 0.00001, batchSize: 256 },
    ]) {
      const started = await engine.call('training.start', { ...common, params })
      expect((await engine.call('training.runs.wait', { run: started.id })).status).toBe('finished')
      await engine.call('registry.versions.register', { runId: started.id, name: 'penguins' })
    }
    // No gate was configured: production applies the primary metric (accuracy for classification).
    const gate = await engine.call('registry.gate.get', { model: 'penguins', alias: 'production' })
    expect(gate.noWorseThan).toEqual({ metric: 'primary', tolerance: 0 })
    expect((await engine.call('registry.gate.get', { model: 'penguins', alias: 'staging' })).noWorseThan).toBeNull()

    await engine.call('registry.promote', { model: 'penguins', version: 1, alias: 'production' })
    const refused = engine.call('registry.promote', { model: 'penguins', version: 2, alias: 'production' })
    await expect(refused).rejects.toThrow(
      /gate refused moving penguins:production to v2: no worse than current on accuracy: v2 test\.accuracy = 0\.\d+ vs current v1 test\.accuracy = 0\.\d+ on penguins@1 test split/,
    )
    expect(resolveModelVersion(engine.context, 'penguins').version).toBe(1)

    for (const reason of [undefined, '', '   ']) {
      await expect(engine.call('registry.promote', { model: 'penguins', version: 2, alias: 'production', force: true, reason })).rejects.toThrow(
        /a forced move needs a reason for the audit log/,
      )
    }
    expect(resolveModelVersion(engine.context, 'penguins').version).toBe(1)

    // staging is not protected: the weak version moves there; once marked protected (a stored gate), it is checked the same way.
    await engine.call('registry.promote', { model: 'penguins', version: 1, alias: 'staging' })
    await engine.call('registry.gate.set', { model: 'penguins', alias: 'staging', gate: { noWorseThan: { metric: 'primary', tolerance: 0 } } })
    const check = await engine.call('registry.promote.check', { model: 'penguins', version: 2, alias: 'staging' })
    expect(check.gate.checks.find((c) => c.name === 'no worse than current on accuracy')).toMatchObject({ passed: false })

    // A gate configured for production says otherwise: only the signature and data checks.
    await engine.call('registry.gate.set', { model: 'penguins', alias: 'production', gate: {} })
    const moved = await engine.call('registry.promote', { model: 'penguins', version: 2, alias: 'production' })
    expect(moved).toMatchObject({ version: 2, previous: 1, forced: false })
  })
})
