import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { MicroBatcher } from '../../../src-main/engine/serving/batcher.js'
import { LoadedModel } from '../../../src-main/engine/serving/loaded-model.js'
import { parseMlflowPayload } from '../../../src-main/engine/serving/payload.js'
import { rowPredictions } from '../../../src-main/engine/serving/responses.js'
import {
  expectedImported,
  expectedIris,
  importedSignature,
  importedTensorOnnx,
  irisClassifierOnnx,
  irisSignature,
  writeModel,
} from '../../fixtures/serving/onnx-models.js'
import { afterThisTest, tempDir } from '../../helpers/workspace.js'

async function load(name: string, bytes: Buffer, signature: typeof irisSignature) {
  const file = writeModel(tempDir(), name, bytes)
  const model = await LoadedModel.load({ model: name, version: 1, versionId: name, path: path.resolve(file), signature })
  afterThisTest(() => model.release())
  return model
}

describe('micro-batching', () => {
  it('runs concurrent requests in shared session runs and gives each request its own rows', async () => {
    const model = await load('iris', irisClassifierOnnx(), irisSignature)
    const runs: number[] = []
    const batcher = new MicroBatcher(model, { enabled: true, maxBatchRows: 64, maxWaitMs: 0 }, (rows) => runs.push(rows))
    const requests = Array.from({ length: 40 }, (_, i) => [
      { petal_length: i / 5, petal_width: (40 - i) / 10, color: ['red', 'green', 'blue'][i % 3]! },
      ...(i % 4 === 0 ? [{ petal_length: 6, petal_width: 0.1, color: 'blue' }] : []),
    ])
    const answers = await Promise.all(
      requests.map(async (rows) => {
        const batch = parseMlflowPayload({ dataframe_records: rows }, model.signature)
        return rowPredictions(await batcher.predict(batch), model.signature, batch.rows).map((p) => p.prediction)
      }),
    )
    answers.forEach((labels, i) => expect(labels).toEqual(requests[i]!.map((r) => expectedIris(r).label)))
    expect(runs.reduce((a, b) => a + b, 0)).toBe(50)
    expect(runs.length).toBeLessThan(40)
    expect(Math.max(...runs)).toBeLessThanOrEqual(64)
  })

  it('with batching off, runs each request of an imported tensor model on its own', async () => {
    const model = await load('imported', importedTensorOnnx(), importedSignature)
    const runs: number[] = []
    const batcher = new MicroBatcher(model, { enabled: false, maxBatchRows: 64, maxWaitMs: 0 }, (rows) => runs.push(rows))
    const tensors = [
      [[1, 2, 3, 4]],
      [
        [0, 0, 1, 1],
        [2, 2, 2, 2],
      ],
      [[-1, 0.5, 3, 9]],
    ]
    const outputs = await Promise.all(
      tensors.map(async (t) => {
        const batch = parseMlflowPayload({ instances: t }, model.signature)
        return rowPredictions(await batcher.predict(batch), model.signature, batch.rows).map((p) => p.prediction)
      }),
    )
    outputs.forEach((rows, i) => rows.forEach((row, r) => (row as number[]).forEach((v, k) => expect(v).toBeCloseTo(expectedImported(tensors[i]![r]!)[k]!, 5))))
    expect(runs).toEqual([1, 2, 1])
  })
})
