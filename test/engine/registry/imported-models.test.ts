import fs from 'node:fs'
import path from 'node:path'
import * as ort from 'onnxruntime-node'
import { describe, expect, it } from 'vitest'
import { LatheError } from '../../../src-main/engine/api/common/errors.js'
import { resolveModelVersion } from '../../../src-main/engine/registry/resolve.js'
import { listAudit } from '../../../src-main/engine/workspace/audit.js'
import { openTestEngine, tempDir } from '../../helpers/workspace.js'

const fixture = path.resolve(import.meta.dirname, '../../fixtures/onnx/iris_logreg.onnx')

async function expectLatheError(promise: Promise<unknown>, code: string, message: RegExp): Promise<LatheError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(LatheError)
  expect((error as LatheError).code).toBe(code)
  expect((error as LatheError).message).toMatch(message)
  return error as LatheError
}

describe('importing ONNX models trained outside Lathe', () => {
  it('reads the signature (names, element types, shapes) and metadata from the graph', async () => {
    const engine = openTestEngine()
    const v = await engine.call('registry.versions.import', { file: fixture, name: 'iris', description: 'sklearn logistic regression' })
    expect(v.version).toBe(1)
    expect(v.source).toBe('import')
    expect(v.signature.inputs).toEqual([{ name: 'features', dtype: 'float32', shape: [null, 4] }])
    expect(v.signature.outputs).toEqual([
      { name: 'label', dtype: 'int64', shape: [null] },
      { name: 'probabilities', dtype: 'float32', shape: [null, 3] },
    ])
    expect(v.signature.columns).toBeNull()
    expect(v.metadata).toMatchObject({ author: 'lathe fixtures', classes: 'setosa,versicolor,virginica', 'onnx.producer': 'scikit-learn via onnx.helper' })

    // The stored object is the same model: it runs in onnxruntime from the resolved path.
    const resolved = resolveModelVersion(engine.context, 'iris', '1')
    const session = await ort.InferenceSession.create(resolved.path)
    const out = await session.run({ features: new ort.Tensor('float32', Float32Array.from([5.1, 3.5, 1.4, 0.2, 6.7, 3.0, 5.2, 2.3]), [2, 4]) })
    expect(Array.from(out.label!.data as BigInt64Array, Number)).toEqual([0, 2])
    await session.release()

    const card = await engine.call('registry.versions.show', { model: 'iris', version: '1' })
    expect(card.card.generated).toBe(true)
    expect(card.card.markdown).toContain('`features` float32 [N, 4]')
    expect(card.card.markdown).toContain('trained outside Lathe')
  })

  it('refuses a corrupt or non-ONNX file with a clear message and registers nothing', async () => {
    const engine = openTestEngine()
    const dir = tempDir()
    const text = path.join(dir, 'notes.onnx')
    fs.writeFileSync(text, 'this is a text file, not a model\n')
    await expectLatheError(engine.call('registry.versions.import', { file: text, name: 'bad' }), 'bad_request', /notes\.onnx is not a valid ONNX model/)

    // A real model cut in half: the protobuf no longer parses or the graph no longer loads.
    const truncated = path.join(dir, 'truncated.onnx')
    const bytes = fs.readFileSync(fixture)
    fs.writeFileSync(truncated, bytes.subarray(0, Math.floor(bytes.length / 2)))
    await expectLatheError(
      engine.call('registry.versions.import', { file: truncated, name: 'bad' }),
      'bad_request',
      /truncated\.onnx is (not a valid ONNX model|ONNX but onnxruntime cannot load it)/,
    )

    await expectLatheError(engine.call('registry.versions.import', { file: path.join(dir, 'missing.onnx'), name: 'bad' }), 'not_found', /cannot read/)
    expect(await engine.call('registry.models.list', {})).toEqual([])
    expect(listAudit(engine.workspace.db, { entityType: 'model' })).toEqual([])
  })

  it('refuses a model name a person could not type back', async () => {
    const engine = openTestEngine()
    await expectLatheError(engine.call('registry.versions.import', { file: fixture, name: 'my model@2' }), 'bad_request', /model name "my model@2"/)
  })
})

describe('aliases, gates on recorded metrics, force and rollback', () => {
  it('promotes through a passing gate, refuses a failing one with the numbers, forces with an audit entry, rolls back', async () => {
    const engine = openTestEngine()
    const moved: unknown[] = []
    engine.events.subscribe(['registry.alias.moved'], (e) => moved.push(e.payload))
    for (const accuracy of [0.91, 0.72, 0.95]) {
      await engine.call('registry.versions.import', { file: fixture, name: 'iris', metrics: { 'test.accuracy': accuracy } })
    }
    await engine.call('registry.gate.set', {
      model: 'iris',
      alias: 'production',
      gate: { thresholds: [{ metric: 'test.accuracy', op: '>=', value: 0.8 }] },
    })

    const first = await engine.call('registry.promote', { model: 'iris', version: 1, alias: 'production' })
    expect(first).toMatchObject({ model: 'iris', alias: 'production', version: 1, previous: null, forced: false })
    expect(first.gate.passed).toBe(true)
    expect(first.gate.checks.map((c) => c.name)).toEqual([
      'metric test.accuracy >= 0.8',
      'signature compatible with current',
      'training data validation passed',
    ])

    const refused = await expectLatheError(
      engine.call('registry.promote', { model: 'iris', version: 2, alias: 'production' }),
      'conflict',
      /metric test\.accuracy >= 0\.8: v2 test\.accuracy = 0\.7200, required >= 0\.8/,
    )
    expect((refused.details as { passed: boolean }).passed).toBe(false)
    expect(resolveModelVersion(engine.context, 'iris').version).toBe(1)

    const forced = await engine.call('registry.promote', { model: 'iris', version: '2', alias: 'production', force: true, reason: 'hotfix', cause: 'alert-17' })
    expect(forced).toMatchObject({ version: 2, previous: 1, forced: true })
    expect(forced.gate.passed).toBe(false)
    const audit = listAudit(engine.workspace.db, { entityType: 'model_alias', entityId: 'iris:production' })
    expect(audit.map((a) => a.action)).toEqual(['alias.promote', 'alias.promote.forced'])
    expect(audit[1]).toMatchObject({ before: { version: 1 }, reason: 'hotfix; cause: alert-17' })
    expect((audit[1]!.after as { version: number }).version).toBe(2)

    await engine.call('registry.promote', { model: 'iris', version: 3, alias: 'production' })
    expect(resolveModelVersion(engine.context, 'iris', 'production').version).toBe(3)
    // Promoting what the alias already holds moves nothing and records nothing.
    expect(await engine.call('registry.promote', { model: 'iris', version: 3, alias: 'production' })).toMatchObject({ version: 3, previous: 3 })

    // Rollback walks back through the history: 3 -> 2 -> 1, then there is nothing earlier.
    expect(await engine.call('registry.rollback', { model: 'iris', alias: 'production' })).toMatchObject({ version: 2, previous: 3 })
    expect(await engine.call('registry.rollback', { model: 'iris', alias: 'production' })).toMatchObject({ version: 1, previous: 2 })
    await expectLatheError(engine.call('registry.rollback', { model: 'iris', alias: 'production' }), 'conflict', /no earlier version/)

    const history = await engine.call('registry.history', { model: 'iris', alias: 'production' })
    expect(history.moves.map((m) => [m.kind, m.previous, m.version, m.forced])).toEqual([
      ['promote', null, 1, false],
      ['promote', 1, 2, true],
      ['promote', 2, 3, false],
      ['rollback', 3, 2, false],
      ['rollback', 2, 1, false],
    ])
    expect(moved).toEqual([
      { model: 'iris', alias: 'production', version: 1, previous: null },
      { model: 'iris', alias: 'production', version: 2, previous: 1 },
      { model: 'iris', alias: 'production', version: 3, previous: 2 },
      { model: 'iris', alias: 'production', version: 2, previous: 3 },
      { model: 'iris', alias: 'production', version: 1, previous: 2 },
    ])
    const shown = await engine.call('registry.models.show', { model: 'iris' })
    expect(shown.model.aliases).toMatchObject([{ alias: 'production', version: 1 }])
    expect(shown.versions.find((v) => v.version === 1)!.aliases).toEqual(['production'])
    expect(shown.gates).toEqual({
      production: { thresholds: [{ metric: 'test.accuracy', op: '>=', value: 0.8 }], noWorseThan: null, signatureCompatible: true, dataValidation: true },
    })
  })

  it('keeps a version immutable in the database itself', async () => {
    const engine = openTestEngine()
    const v = await engine.call('registry.versions.import', { file: fixture, name: 'iris' })
    expect(() => engine.workspace.db.prepare('UPDATE registry_versions SET onnx_sha256 = ? WHERE id = ?').run('x', v.versionId)).toThrow(/immutable/)
    const edited = await engine.call('registry.versions.edit', { model: 'iris', version: '1', description: 'now described', intendedUse: 'teaching' })
    expect(edited).toMatchObject({ description: 'now described', intendedUse: 'teaching', onnxSha256: v.onnxSha256 })
  })

  it('says which aliases exist when asked for one that does not', async () => {
    const engine = openTestEngine()
    await engine.call('registry.versions.import', { file: fixture, name: 'iris' })
    expect(() => resolveModelVersion(engine.context, 'iris')).toThrow(/no alias "production".*promote a version first/)
    await engine.call('registry.promote', { model: 'iris', version: 1, alias: 'staging' })
    expect(() => resolveModelVersion(engine.context, 'iris', 'champion')).toThrow(/aliases: staging -> v1/)
    expect(() => resolveModelVersion(engine.context, 'nope')).toThrow(/no model named "nope"/)
    await expectLatheError(engine.call('registry.promote', { model: 'iris', version: 1, alias: 'Prod Uction' }), 'bad_request', /alias "Prod Uction"/)
  })
})
