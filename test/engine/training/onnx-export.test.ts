import { describe, expect, test } from 'vitest'
import { openTestEngine, tempDir } from '../../helpers/workspace.js'
import { importVega, maxAbsDiff, onnxCheckerAccepts, predictBothWays, trainAndWait } from './helpers.js'

describe('ONNX export with the preprocessing inside', () => {
  test('classification with categorical and missing values: onnxruntime matches the TensorFlow.js model on the test split', async () => {
    const engine = openTestEngine()
    await importVega(engine, 'penguins.json', 'penguins')
    const run = await trainAndWait(engine, { dataset: 'penguins', target: 'Species', params: { epochs: 5, hidden: [16] } })
    expect(run.status, run.error ?? '').toBe('finished')
    const sig = run.model!.signature
    expect(sig.inputs.map((i) => `${i.name}:${i.dtype}`)).toContain('Island:string')
    expect(sig.inputs.map((i) => `${i.name}:${i.dtype}`)).toContain('Body Mass (g):float32')
    expect(sig.outputs.map((o) => o.name)).toEqual(['label', 'probabilities'])
    expect(sig.classes).toEqual(['Adelie', 'Chinstrap', 'Gentoo'])

    const both = await predictBothWays(engine, run)
    expect(both.rows).toBeGreaterThan(30)
    expect(maxAbsDiff(both.tfOut, both.onnxOut)).toBeLessThan(1e-4)
    // The label output is the arg max decoded through the class names.
    for (let i = 0; i < both.rows; i++) {
      const p = Array.from(both.onnxOut.subarray(i * 3, i * 3 + 3))
      expect(both.labels![i]).toBe(both.classes![p.indexOf(Math.max(...p))])
    }
    onnxCheckerAccepts(await engine.workspace.objects.read(run.model!.onnxSha256), tempDir())
  }, 240_000)

  test('regression: prediction in the target units matches, and the checker accepts the file', async () => {
    const engine = openTestEngine()
    await importVega(engine, 'cars.json', 'cars')
    const run = await trainAndWait(engine, {
      dataset: 'cars',
      target: 'Miles_per_Gallon',
      exclude: ['Name'],
      params: { epochs: 5, hidden: [16, 8], activation: 'tanh' },
    })
    expect(run.status, run.error ?? '').toBe('finished')
    expect(run.model!.signature.outputs).toEqual([{ name: 'prediction', dtype: 'float32', shape: [null, 1] }])
    const both = await predictBothWays(engine, run)
    expect(maxAbsDiff(both.tfOut, both.onnxOut)).toBeLessThan(1e-4)
    onnxCheckerAccepts(await engine.workspace.objects.read(run.model!.onnxSha256), tempDir())
  }, 240_000)
})
