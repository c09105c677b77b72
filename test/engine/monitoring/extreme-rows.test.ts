import { DuckDBInstance } from '@duckdb/node-api'
import { describe, expect, it } from 'vitest'
import { numericStatistics } from '../../../src-main/engine/monitoring/drift/statistics.js'

describe('drift statistics and charts with a few extreme rows', () => {
  it('one 9.5e307 row in the current window goes to an overflow bin instead of flattening the histogram', async () => {
    const db = await DuckDBInstance.create(':memory:')
    const conn = await db.connect()
    try {
      // Reference: 1000 temperatures between -5 and 35; current: the same shape, plus the row from the try-it form.
      await conn.run('CREATE TEMP TABLE ref AS SELECT -5 + (i % 400) / 10.0 AS temp FROM range(1000) t(i)')
      await conn.run('CREATE TEMP TABLE cur AS SELECT -5 + (i % 400) / 10.0 AS temp FROM range(999) t(i) UNION ALL SELECT 9.5e307')
      const stats = (await numericStatistics(conn, 'ref', 'cur', 'temp'))!
      const bins = stats.chart.bins
      const regular = bins.filter((b) => !b.overflow)
      expect(regular).toHaveLength(20)
      expect(regular[0]!.start).toBeGreaterThan(-6)
      expect(regular.at(-1)!.end).toBeLessThan(36)
      // The overflow bin holds what is past the reference's 99.5% quantile: its top half percent, and the extreme row.
      const above = bins.at(-1)!
      expect(above.overflow).toBe('above')
      expect(above.current).toBeGreaterThanOrEqual(1 / 1000)
      expect(above.current).toBeLessThan(0.02)
      expect(above.end).toBeLessThan(40)
      // The data still spreads over the bins: no single bar holds the chart.
      expect(Math.max(...regular.map((b) => b.current))).toBeLessThan(0.1)
      expect(Math.max(...regular.map((b) => b.reference))).toBeLessThan(0.1)
      // The rank- and quantile-based statistics barely move for one row in a thousand.
      expect(stats.psi).toBeLessThan(0.05)
      expect(stats.ks_pvalue).toBeGreaterThan(0.5)
    } finally {
      conn.closeSync()
      db.closeSync()
    }
  })
})
