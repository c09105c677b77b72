import { describe, expect, it } from 'vitest'
import { foldConfusion } from '../../src-renderer/src/components/runs/fold.js'
import { matchesRun, parseRunQuery, QueryError, unknownMetrics, type RunRecord } from '../../src-renderer/src/components/runs/query.js'

function run(id: string, lr: number, accuracy: number, tags: string[] = []): RunRecord {
  return {
    id,
    status: 'finished',
    dataset: { name: 'weather', version: 2, versionId: 'v' },
    target: 'weather',
    modelFamily: 'mlp',
    params: { learningRate: lr, batchSize: 32, hidden: [64, 64] },
    metrics: { validation: { accuracy: accuracy - 0.01 }, test: { accuracy, log_loss: 1 - accuracy }, confusion: null },
    tags,
  } as unknown as RunRecord
}

const runs = [run('a', 0.01, 0.85, ['baseline']), run('b', 0.001, 0.75), run('c', 0.01, 0.7, ['wide'])]
const ids = (text: string) => runs.filter((r) => matchesRun(r, parseRunQuery(text))).map((r) => r.id)

describe('the Runs filter language', () => {
  it('joins metric and param clauses with and, with lr as the short name of learningRate', () => {
    expect(ids('metrics.accuracy > 0.8 and params.lr = 0.01')).toEqual(['a'])
    expect(ids('params.learningRate = 0.01')).toEqual(['a', 'c'])
    expect(ids('metrics.validation.accuracy >= 0.74')).toEqual(['a', 'b'])
    expect(ids('metrics.log_loss < 0.2')).toEqual(['a'])
  })

  it('matches tags, datasets by name or name@version, and plain text', () => {
    expect(ids('tag = baseline')).toEqual(['a'])
    expect(ids('tag != baseline')).toEqual(['b', 'c'])
    expect(ids("dataset = 'weather'")).toEqual(['a', 'b', 'c'])
    expect(ids('dataset = weather@3')).toEqual([])
    expect(ids('wide')).toEqual(['c'])
    expect(ids('')).toEqual(['a', 'b', 'c'])
  })

  it('says what is wrong with a clause instead of matching nothing', () => {
    expect(() => parseRunQuery('metrics.accuracy >')).toThrow(QueryError)
    expect(() => parseRunQuery('accuracy > 0.8')).toThrow(/"accuracy" is not a field/)
    expect(() => parseRunQuery('metrics.accuracy > high')).toThrow(/compares numbers/)
    expect(unknownMetrics(runs, parseRunQuery('metrics.acuracy > 0.8'))).toBe('No run has a metric "acuracy". Metrics: accuracy, log_loss.')
  })
})

describe('folding a confusion matrix', () => {
  it('keeps the classes with most examples and sums the rest into "other", preserving every count', () => {
    const n = 1022
    const labels = Array.from({ length: n }, (_, i) => `c${i}`)
    const matrix = labels.map((_, i) => labels.map((__, j) => (i === j ? (i % 100) + 1 : i + j === n - 1 ? 1 : 0)))
    const folded = foldConfusion(labels, matrix, 12)
    expect(folded.labels).toHaveLength(12)
    expect(folded.labels.at(-1)).toBe('other')
    expect(folded.hidden).toBe(n - 11)
    const sum = (m: number[][]) => m.flat().reduce((a, b) => a + b, 0)
    expect(sum(folded.matrix)).toBe(sum(matrix))
    // The biggest classes are the ones kept: the ten with support 101, then the largest of those with 100.
    const kept = folded.labels.slice(0, 11).map((l) => Number(l.slice(1)) % 100)
    expect(kept.filter((r) => r === 99)).toHaveLength(10)
    expect(kept.filter((r) => r === 98)).toHaveLength(1)
  })

  it('leaves a small matrix as it is', () => {
    expect(
      foldConfusion(
        ['a', 'b'],
        [
          [1, 0],
          [0, 1],
        ],
        12,
      ),
    ).toEqual({
      labels: ['a', 'b'],
      matrix: [
        [1, 0],
        [0, 1],
      ],
      hidden: 0,
    })
  })
})

describe('numbers at a sensible precision', () => {
  it('keeps four significant digits for measurements and whole large values', async () => {
    const { formatNumber } = await import('../../src-renderer/src/components/common/format.js')
    expect(formatNumber(0.8269230769230769)).toBe('0.8269')
    expect(formatNumber(4499994.5)).toBe('4499995')
    expect(formatNumber(4499994.5, 10)).toBe('4499994.5')
    expect(formatNumber(1e-7)).toBe('1e-7')
    expect(formatNumber(1e308)).toBe('1e+308')
    expect(formatNumber(12)).toBe('12')
    expect(formatNumber(Number.NaN)).toBe('NaN')
  })
})
