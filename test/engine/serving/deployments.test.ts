import { describe, expect, it } from 'vitest'
import { listAudit } from '../../../src-main/engine/workspace/audit.js'
import { irisClassifierOnnx, irisSignature, linearRegressorOnnx, linearSignature } from '../../fixtures/serving/onnx-models.js'
import { tempDir } from '../../helpers/workspace.js'
import { servingFixture, type ServingFixture } from './helpers.js'

function withModels(f: ServingFixture): ServingFixture {
  f.models.add('iris', 1, irisClassifierOnnx(), irisSignature)
  f.models.add('iris', 2, irisClassifierOnnx(3), irisSignature)
  f.models.add('linear', 1, linearRegressorOnnx(), linearSignature)
  f.models.setAlias('iris', 'production', 2)
  f.models.setAlias('linear', 'production', 1)
  return f
}

describe('deployments are remembered', () => {
  it('a restart serves what was deployed before (selector, default, logging), and the audit log records each change', async () => {
    const dir = tempDir()
    const first = withModels(servingFixture(undefined, dir))
    await first.engine.call('serving.deploy', { model: 'iris', selector: '1', logging: false })
    await first.engine.call('serving.deploy', { model: 'linear', default: true })
    await first.engine.call('serving.undeploy', { model: 'iris' })
    await first.engine.call('serving.deploy', { model: 'iris', selector: '1', logging: false })
    const audit = listAudit(first.engine.workspace.db, { entityType: 'model' }).filter((a) => a.action.startsWith('serving.'))
    expect(audit.map((a) => [a.action, a.entityId])).toEqual([
      ['serving.deploy', 'iris'],
      ['serving.deploy', 'linear'],
      ['serving.undeploy', 'iris'],
      ['serving.deploy', 'iris'],
    ])
    await first.engine.close()

    const second = withModels(servingFixture(undefined, dir))
    const status = await second.engine.call('serving.start', { port: 0 })
    expect(status.deployments.map((d) => [d.model, d.selector, d.version, d.isDefault, d.logging])).toEqual([
      ['linear', 'production', 1, true, true],
      ['iris', '1', 1, false, false],
    ])
  })

  it('a remembered model that no longer resolves is left out and reported; the rest is served', async () => {
    const dir = tempDir()
    const first = withModels(servingFixture(undefined, dir))
    await expect(first.engine.call('serving.deploy', { model: 'iris', selector: 'no-such-alias' })).rejects.toThrow(/no iris@no-such-alias/)
    await first.engine.call('serving.deploy', { model: 'iris' })
    await first.engine.call('serving.deploy', { model: 'linear' })
    await first.engine.close()

    const second = servingFixture(undefined, dir)
    second.models.add('linear', 1, linearRegressorOnnx(), linearSignature)
    second.models.setAlias('linear', 'production', 1)
    const reported: unknown[] = []
    second.engine.events.subscribe(['serving.swap_failed'], (e) => reported.push(e.payload))
    const status = await second.engine.call('serving.start', { port: 0 })
    expect(status.deployments.map((d) => d.model)).toEqual(['linear'])
    expect(status.deployments[0]!.isDefault).toBe(true)
    expect(reported).toMatchObject([{ model: 'iris', message: expect.stringContaining('not served') }])
  })
})
