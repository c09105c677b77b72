import fs from 'node:fs'
import path from 'node:path'
import { strToU8, unzipSync, zipSync } from 'fflate'
import * as ort from 'onnxruntime-node'
import { describe, expect, it } from 'vitest'
import { resolveModelVersion } from '../../../src-main/engine/registry/resolve.js'
import { openTestEngine, tempDir } from '../../helpers/workspace.js'
import { scaleModel } from './onnx-builder.js'

const fixture = path.resolve(import.meta.dirname, '../../fixtures/onnx/iris_logreg.onnx')

describe('a model built with a protobuf writer', () => {
  it('imports with its signature and runs', async () => {
    const engine = openTestEngine()
    const file = path.join(tempDir(), 'scale.onnx')
    fs.writeFileSync(file, scaleModel({ input: 'x', output: 'y', width: 2, scale: 3 }))
    const v = await engine.call('registry.versions.import', { file, name: 'scaler' })
    expect(v.signature.inputs).toEqual([{ name: 'x', dtype: 'float32', shape: [null, 2] }])
    expect(v.signature.outputs).toEqual([{ name: 'y', dtype: 'float32', shape: [null, 2] }])
    expect(v.metadata).toMatchObject({ purpose: 'registry test', 'onnx.producer': 'lathe-test-protobuf-writer', 'onnx.opsets': 'ai.onnx:13' })
    const session = await ort.InferenceSession.create(resolveModelVersion(engine.context, 'scaler', '1').path)
    const out = await session.run({ x: new ort.Tensor('float32', Float32Array.from([1, 2]), [1, 2]) })
    expect(Array.from(out.y!.data as Float32Array)).toEqual([3, 6])
    await session.release()
  })

  it('fails the signature gate against a version with other inputs and outputs', async () => {
    const engine = openTestEngine()
    const dir = tempDir()
    const same = path.join(dir, 'same.onnx')
    const other = path.join(dir, 'other.onnx')
    fs.writeFileSync(same, scaleModel({ input: 'x', output: 'y', width: 2, scale: 3 }))
    fs.writeFileSync(other, scaleModel({ input: 'features', output: 'y', width: 3, scale: 3 }))
    for (const file of [same, same, other]) await engine.call('registry.versions.import', { file, name: 'scaler' })
    await engine.call('registry.promote', { model: 'scaler', version: 1, alias: 'production' })
    const ok = await engine.call('registry.promote.check', { model: 'scaler', version: 2, alias: 'production' })
    expect(ok.gate.checks.find((c) => c.name === 'signature compatible with current')).toMatchObject({ passed: true })
    const bad = await engine.call('registry.promote.check', { model: 'scaler', version: 3, alias: 'production' })
    expect(bad).toMatchObject({ version: 3, previous: 1 })
    expect(bad.gate.passed).toBe(false)
    expect(bad.gate.checks.find((c) => c.name === 'signature compatible with current')!.detail).toBe('v3 vs v1: new input "features" that callers do not send')
    await expect(engine.call('registry.promote', { model: 'scaler', version: 3, alias: 'production' })).rejects.toThrow(
      /signature compatible with current: v3 vs v1/,
    )
    expect(resolveModelVersion(engine.context, 'scaler').version).toBe(1)
  })
})

describe('export and import of a model package', () => {
  it('carries a version into a second workspace with its identity, card and metrics', async () => {
    const source = openTestEngine()
    await source.call('registry.versions.import', { file: fixture, name: 'iris' })
    const original = await source.call('registry.versions.import', { file: fixture, name: 'iris', metrics: { 'test.accuracy': 0.97 }, description: 'second' })
    await source.call('registry.versions.edit', { model: 'iris', version: '2', card: '# Iris v2\n\nHand-written card.\n', tags: { team: 'plants' } })
    const file = path.join(tempDir(), 'iris-2.zip')
    const exported = await source.call('registry.export', { model: 'iris', version: '2', file })
    expect(exported.bytes).toBe(fs.statSync(file).size)
    expect(Object.keys(unzipSync(fs.readFileSync(file))).sort()).toEqual([
      'lineage.json',
      'manifest.json',
      'metrics.json',
      'model-card.md',
      'model.onnx',
      'preprocessing.json',
      'signature.json',
    ])

    const target = openTestEngine()
    const imported = await target.call('registry.importPackage', { file })
    expect(imported.created).toBe(true)
    expect(imported.version).toMatchObject({
      model: 'iris',
      version: 2,
      versionId: original.versionId,
      onnxSha256: original.onnxSha256,
      metrics: { 'test.accuracy': 0.97 },
      signature: original.signature,
      description: 'second',
      tags: { team: 'plants' },
      source: 'package',
      createdAt: original.createdAt,
    })
    expect(imported.version.metadata['package.source']).toBe('import')
    const shown = await target.call('registry.versions.show', { model: 'iris', version: '2' })
    expect(shown.card).toEqual({ markdown: '# Iris v2\n\nHand-written card.\n', generated: false })
    expect(fs.readFileSync(resolveModelVersion(target.context, 'iris', '2').path)).toEqual(fs.readFileSync(fixture))

    // Importing the same package again is a no-op that returns the same version.
    const again = await target.call('registry.importPackage', { file })
    expect(again).toMatchObject({ created: false, version: { versionId: original.versionId } })
    expect((await target.call('registry.models.show', { model: 'iris' })).versions).toHaveLength(1)
  })

  it('refuses a damaged package and changes nothing', async () => {
    const source = openTestEngine()
    await source.call('registry.versions.import', { file: fixture, name: 'iris' })
    const dir = tempDir()
    const good = path.join(dir, 'good.zip')
    await source.call('registry.export', { model: 'iris', version: '1', file: good })
    const entries = unzipSync(fs.readFileSync(good))
    const tampered = path.join(dir, 'tampered.zip')
    fs.writeFileSync(tampered, zipSync({ ...entries, 'model.onnx': strToU8('not the model') }))
    const notZip = path.join(dir, 'notzip.zip')
    fs.writeFileSync(notZip, 'hello')

    const target = openTestEngine()
    await expect(target.call('registry.importPackage', { file: tampered })).rejects.toThrow(/model\.onnx does not match the manifest/)
    await expect(target.call('registry.importPackage', { file: notZip })).rejects.toThrow(/notzip\.zip is not a zip file/)
    expect(await target.call('registry.models.list', {})).toEqual([])
  })

  it('goes through base64 content both ways, as the browser does', async () => {
    const source = openTestEngine()
    const bytes = fs.readFileSync(fixture)
    const v = await source.call('registry.versions.import', { content: bytes.toString('base64'), fileName: 'iris.onnx', name: 'iris' })
    expect(v.metadata['import.file']).toBe('iris.onnx')
    const pkg = await source.call('registry.export', { model: 'iris', version: '1' })
    expect(pkg).toMatchObject({ file: null, fileName: 'iris-v1.zip' })
    const target = openTestEngine()
    const imported = await target.call('registry.importPackage', { content: pkg.content!, fileName: pkg.fileName, name: 'iris-copy' })
    expect(imported.version).toMatchObject({ model: 'iris-copy', version: 1, versionId: v.versionId, onnxSha256: v.onnxSha256 })
    await expect(source.call('registry.versions.import', { name: 'iris' })).rejects.toThrow(/give either file .* or content/)
    await expect(
      source.call('registry.versions.import', { content: Buffer.from('garbage').toString('base64'), fileName: 'junk.onnx', name: 'iris' }),
    ).rejects.toThrow(/junk\.onnx is not a valid ONNX model/)
  })
})
