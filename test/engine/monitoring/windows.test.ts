import { describe, expect, it } from 'vitest'
import { categoricalStatistics, chiSquare, jensenShannonDistance, psiOf } from '../../../src-main/engine/monitoring/drift/statistics.js'
import { predictionLogSource } from '../../../src-main/engine/monitoring/drift/sources.js'
import { openTestEngine } from '../../helpers/workspace.js'
import { logPredictions } from './logHelpers.js'

describe('windows of the prediction log', () => {
  it('selects the last N answered rows, a time range, or one version, with inputs typed from their JSON', async () => {
    const engine = openTestEngine()
    const conn = await engine.workspace.monitor()
    await logPredictions(
      engine,
      Array.from({ length: 10 }, (_, i) => ({
        request_id: `r${i}`,
        time: new Date(Date.UTC(2026, 0, 1, 0, i)).toISOString(),
        model: 'm',
        version: i < 5 ? 1 : 2,
        status: i === 9 ? 500 : 200,
        inputs: { x: i, 'odd "name"': i % 2 ? 'odd' : 'even' },
        prediction: i * 10,
      })),
    )
    const rows = async (window: Parameters<typeof predictionLogSource>[1]) => {
      const source = predictionLogSource(
        'm',
        window,
        [
          { name: 'x', kind: 'numeric' },
          { name: 'odd "name"', kind: 'categorical' },
        ],
        'numeric',
      )
      return (await conn.runAndReadAll(`SELECT * FROM (${source.sql}) ORDER BY x`)).getRowObjectsJS()
    }
    // The failed request (status 500) is never part of a drift window.
    expect((await rows({ last: 3 })).map((r) => r.x)).toEqual([6, 7, 8])
    expect(await rows({ last: 1 })).toEqual([{ x: 8, 'odd "name"': 'even', __prediction: 80 }])
    expect((await rows({ since: '2026-01-01T00:02:00Z', until: '2026-01-01T00:04:00Z' })).map((r) => r.x)).toEqual([2, 3])
    expect((await rows({ version: 1 })).map((r) => r.x)).toEqual([0, 1, 2, 3, 4])
    expect(() => predictionLogSource('m', { since: 'last tuesday' }, [], null)).toThrow(/not an ISO date/)
  })
})

describe('categorical statistics by hand', () => {
  it('PSI, chi-square, Jensen-Shannon and new/missing categories on a small known table', async () => {
    const engine = openTestEngine()
    const conn = await engine.workspace.monitor()
    await conn.run(`CREATE TEMP TABLE ref AS SELECT * FROM (VALUES ('a'), ('a'), ('a'), ('b'), ('c'), ('c'), (NULL)) t(k)`)
    await conn.run(`CREATE TEMP TABLE cur AS SELECT * FROM (VALUES ('a'), ('b'), ('b'), ('d')) t(k)`)
    const stats = (await categoricalStatistics(conn, 'ref', 'cur', 'k'))!
    expect(stats.referenceRows).toBe(6)
    expect(stats.currentRows).toBe(4)
    expect(stats.new_categories).toEqual(['d'])
    expect(stats.missing_categories).toEqual(['c'])
    // Keys a, b, c, d: reference 3/6, 1/6, 2/6, 0 (clipped to 1e-4); current 1/4, 2/4, 0 (1e-4), 1/4.
    const r = [0.5, 1 / 6, 1 / 3, 1e-4]
    const c = [0.25, 0.5, 1e-4, 0.25]
    const psi = r.reduce((s, ri, i) => s + (c[i]! - ri) * Math.log(c[i]! / ri), 0)
    expect(stats.psi).toBeCloseTo(psi, 12)
    const norm = r.reduce((s, x) => s + x, 0)
    const expected = r.map((x) => (x / norm) * 4)
    const chi2 = [1, 2, 0, 1].reduce((s, o, i) => s + (o - expected[i]!) ** 2 / expected[i]!, 0)
    expect(stats.chi2_statistic).toBeCloseTo(chi2, 9)
    expect(stats.chi2_pvalue).toBeLessThan(1e-6)
    expect(stats.chart.categories.map((x) => x.name)).toEqual(['a', 'b', 'c', 'd'])
  })

  it('the pure helpers: identical distributions are at distance zero', () => {
    expect(psiOf([0.2, 0.8], [0.2, 0.8])).toBe(0)
    expect(jensenShannonDistance([0.5, 0.5], [0.5, 0.5])).toBe(0)
    expect(jensenShannonDistance([1, 0], [0, 1])).toBeCloseTo(1, 12)
    expect(chiSquare([5, 5], [0.5, 0.5], 10)).toEqual({ statistic: 0, pValue: 1 })
  })
})
