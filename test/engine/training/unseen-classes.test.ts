import fs from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { classificationMetrics } from '../../../src-main/engine/training/metrics.js'
import { openTestEngine, tempDir } from '../../helpers/workspace.js'
import { trainAndWait } from './helpers.js'

/**
 * 300 rows of classes a and b, plus one row each of "late" and "rare". A stratified split
 * puts a class of one row in the test part (floor(0.7 * 1) = 0 training rows), so the
 * training split never sees them.
 */
function unseenClassCsv(): string {
  const lines = ['x,y,label']
  for (let i = 0; i < 300; i++) lines.push(`${(i % 10) / 10 + (i % 2)},${(i % 7) / 7},${i % 2 ? 'a' : 'b'}`)
  lines.push('0.5,0.5,late', '0.4,0.1,rare')
  const file = path.join(tempDir(), 'unseen.csv')
  fs.writeFileSync(file, lines.join('\n') + '\n')
  return file
}

describe('classes the training split lacks', () => {
  it('a test-only class is counted as wrong, shown in the confusion matrix and warned about, not a crash', async () => {
    const engine = openTestEngine()
    await engine.call('data.import', { name: 'unseen', path: unseenClassCsv() })
    const run = await trainAndWait(engine, {
      dataset: 'unseen',
      target: 'label',
      split: { method: 'stratified', column: 'label' },
      params: { epochs: 3, hidden: [8] },
    })
    expect(run.status, run.error ?? '').toBe('finished')
    // The model only knows what it was trained on.
    expect(run.model!.preprocessing.classes).toEqual(['a', 'b'])
    const confusion = run.metrics!.confusion!
    expect(confusion.labels).toEqual(['a', 'b', 'late', 'rare'])
    // Every test row is in the matrix once; the unseen classes are rows with nothing predicted as them.
    const testRows = confusion.test.flat().reduce((s, n) => s + n, 0)
    expect(confusion.test[2]!.reduce((s, n) => s + n, 0)).toBe(1)
    expect(confusion.test[3]!.reduce((s, n) => s + n, 0)).toBe(1)
    expect(confusion.test.map((row) => row[2]! + row[3]!)).toEqual([0, 0, 0, 0])
    expect(confusion.test[0]!.length).toBe(4)
    // Accuracy counts the two unseen rows as wrong: at most (n - 2) / n.
    expect(run.metrics!.test.accuracy).toBeLessThanOrEqual((testRows - 2) / testRows)
    expect(run.warnings?.join(' ')).toMatch(/test split holds 2 classes the training split lacks \(late, rare\)/)
    expect(run.warnings?.join(' ')).toMatch(/counted as wrong/)
  }, 240_000)

  it('metrics with true classes beyond the model outputs: wrong predictions, zero recall, a finite log loss', () => {
    // Two model classes; true class 2 is one the model never saw.
    const y = [0, 1, 2, 0]
    const p = [0.9, 0.1, 0.2, 0.8, 0.6, 0.4, 0.3, 0.7]
    const { values, confusion } = classificationMetrics(y, p, 2, 3)
    expect(confusion).toEqual([
      [1, 1, 0],
      [0, 1, 0],
      [1, 0, 0],
    ])
    expect(values.accuracy).toBe(0.5)
    // Per class recall: 1/2, 1, 0 (the unseen class); precision: 1/2, 1/2, 0.
    expect(values.recall).toBeCloseTo((0.5 + 1 + 0) / 3, 12)
    expect(values.precision).toBeCloseTo((0.5 + 0.5 + 0) / 3, 12)
    expect(Number.isFinite(values.log_loss)).toBe(true)
    // Binary AUC is over the rows whose class the model knows: rows 0, 1, 3 rank perfectly.
    expect(values.roc_auc).toBe(1)
  })
})
