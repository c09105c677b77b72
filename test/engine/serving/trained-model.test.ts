import * as ort from 'onnxruntime-node'
import { describe, expect, it } from 'vitest'
import { exportOnnx } from '../../../src-main/engine/training/onnx-export.js'
import { seededRandom } from '../../../src-main/engine/training/model.js'
import type { FeatureColumn, Preprocessing } from '../../../src-main/engine/training/types.js'
import { postJson, servingFixture } from './helpers.js'

/**
 * A model as Lathe's training exports it (preprocessing inside the graph: impute,
 * standardize, one-hot with an unknown slot, MLP, label + probabilities), with seeded
 * weights: serving must answer exactly what onnxruntime answers for the same rows,
 * missing values and unseen categories included.
 */
function trainedPenguinsModel() {
  const features: FeatureColumn[] = [
    { name: 'bill_length', kind: 'numeric', sourceType: 'DOUBLE' },
    { name: 'body_mass', kind: 'numeric', sourceType: 'BIGINT' },
    { name: 'island', kind: 'categorical', sourceType: 'VARCHAR' },
  ]
  const preprocessing: Preprocessing = {
    numeric: [
      { name: 'bill_length', mean: 44, std: 5.4 },
      { name: 'body_mass', mean: 4200, std: 800 },
    ],
    categorical: [{ name: 'island', vocabulary: ['Biscoe', 'Dream', 'Torgersen'] }],
    classes: ['Adelie', 'Chinstrap', 'Gentoo'],
    targetScale: null,
    order: ['bill_length', 'body_mass', 'island'],
  }
  const random = seededRandom(11)
  const dense = (inputs: number, outputs: number) => ({
    inputs,
    outputs,
    kernel: Array.from({ length: inputs * outputs }, () => (random() - 0.5) * 2),
    bias: Array.from({ length: outputs }, () => random() - 0.5),
  })
  const weights = { family: 'mlp' as const, task: 'classification' as const, activation: 'relu' as const, layers: [dense(6, 8), dense(8, 3)] }
  return exportOnnx(weights, preprocessing, features, 'species')
}

const rows = [
  { bill_length: 39.1, body_mass: 3750, island: 'Torgersen' },
  { bill_length: 48.7, body_mass: 5000, island: 'Biscoe' },
  { bill_length: 50.2, body_mass: 3800, island: 'Dream' },
  { bill_length: null, body_mass: 4100, island: null },
  { bill_length: 42, body_mass: null, island: 'Atlantis' },
]

describe('a model exported by Lathe training', () => {
  it('is served with the answers onnxruntime gives offline, missing values and unseen categories included', async () => {
    const { bytes, signature } = trainedPenguinsModel()
    const session = await ort.InferenceSession.create(bytes)
    const offline = await session.run({
      bill_length: new ort.Tensor(
        'float32',
        Float32Array.from(rows, (r) => r.bill_length ?? NaN),
        [rows.length, 1],
      ),
      body_mass: new ort.Tensor(
        'float32',
        Float32Array.from(rows, (r) => r.body_mass ?? NaN),
        [rows.length, 1],
      ),
      island: new ort.Tensor(
        'string',
        rows.map((r) => r.island ?? ''),
        [rows.length, 1],
      ),
    })
    await session.release()
    const labels = [...(offline.label!.data as string[])]
    const probs = offline.probabilities!.data as Float32Array

    const f = servingFixture()
    f.models.add('penguins', 1, Buffer.from(bytes), signature)
    f.models.setAlias('penguins', 'production', 1)
    const { url } = await f.engine.call('serving.start', { port: 0, models: [{ model: 'penguins' }] })
    const res = await postJson(`${url}/invocations?probabilities=true`, { dataframe_records: rows })
    expect(res.status).toBe(200)
    expect(res.body.predictions).toEqual(labels)
    expect(res.body.classes).toEqual(['Adelie', 'Chinstrap', 'Gentoo'])
    res.body.probabilities.forEach((p: number[], i: number) => p.forEach((v, k) => expect(v).toBeCloseTo(probs[i * 3 + k]!, 6)))

    // The metadata a v2 client reads describes the same tensors.
    const meta = await fetch(`${url}/v2/models/penguins`).then((r) => r.json() as Promise<any>)
    expect(meta.inputs).toEqual([
      { name: 'bill_length', datatype: 'FP32', shape: [-1, 1] },
      { name: 'body_mass', datatype: 'FP32', shape: [-1, 1] },
      { name: 'island', datatype: 'BYTES', shape: [-1, 1] },
    ])
    expect(meta.parameters.classes).toEqual(['Adelie', 'Chinstrap', 'Gentoo'])
  })
})
