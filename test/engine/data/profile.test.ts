import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { openTestEngine, tempDir } from '../../helpers/workspace.js'

const vega = path.resolve('node_modules/vega-datasets/data')

/** The same statistics from pandas, the tool a practitioner would compare with. */
function pandasProfile(file: string): Record<string, any> {
  const script = `
import json, sys
import pandas as pd
path = sys.argv[1]
df = pd.read_json(path) if path.endswith('.json') else pd.read_csv(path)
out = {"rows": len(df), "duplicates": int(df.duplicated().sum()), "columns": {}}
for c in df.columns:
    s = df[c]
    col = {"count": int(s.count()), "nulls": int(s.isna().sum()), "distinct": int(s.nunique())}
    if pd.api.types.is_numeric_dtype(s):
        q = s.quantile([0.05, 0.25, 0.5, 0.75, 0.95])
        col.update(min=float(s.min()), max=float(s.max()), mean=float(s.mean()), std=float(s.std()),
                   quantiles=[float(v) for v in q])
    else:
        vc = s.value_counts()
        col["top"] = [[str(k), int(v)] for k, v in vc.head(3).items()]
    out["columns"][c] = col
print(json.dumps(out))
`
  return JSON.parse(execFileSync('/usr/bin/python3', ['-c', script, file], { encoding: 'utf8' }))
}

describe('data.profile', () => {
  for (const file of ['seattle-weather.csv', 'penguins.json']) {
    it(`agrees with pandas on ${file}`, async () => {
      const engine = openTestEngine()
      await engine.call('data.import', { name: 'd', path: path.join(vega, file) })
      const profile = await engine.call('data.profile', { dataset: 'd' })
      const expected = pandasProfile(path.join(vega, file))
      expect(profile.rows).toBe(expected.rows)
      expect(profile.duplicateRows).toBe(expected.duplicates)
      for (const column of profile.columns) {
        const want = expected.columns[column.name]
        expect(want, column.name).toBeDefined()
        expect([column.name, column.count, column.nulls]).toEqual([column.name, want.count, want.nulls])
        if (column.kind === 'numeric') {
          expect(column.distinct).toBe(want.distinct)
          expect(column.min).toBeCloseTo(want.min, 9)
          expect(column.max).toBeCloseTo(want.max, 9)
          expect(column.mean!).toBeCloseTo(want.mean, 9)
          expect(column.std!).toBeCloseTo(want.std, 9)
          const q = column.quantiles!
          ;[q.p05, q.p25, q.p50, q.p75, q.p95].forEach((v, i) => expect(v as number).toBeCloseTo(want.quantiles[i], 9))
          expect(column.histogram!.reduce((n, b) => n + b.count, 0)).toBe(want.count)
        } else if (column.kind === 'categorical') {
          expect(column.distinct).toBe(want.distinct)
          expect(column.top!.slice(0, 3).map((t) => [t.value, t.count])).toEqual(want.top)
        }
      }
    })
  }

  it('computes independently checkable values on a small file, and caches them per version', async () => {
    const engine = openTestEngine()
    const file = path.join(tempDir(), 'small.csv')
    fs.writeFileSync(file, 'x,label\n1,a\n2,b\n3,a\n4,\n1,a\n')
    await engine.call('data.import', { name: 'small', path: file })
    const first = await engine.call('data.profile', { dataset: 'small@1' })
    const x = first.columns[0]!
    // x = 1,2,3,4,1: mean 2.2, sample variance ((1.2²+0.2²+0.8²+1.8²+1.2²)/4) = 1.7
    expect(x).toMatchObject({ count: 5, nulls: 0, distinct: 4, min: 1, max: 4, distinctApproximate: false })
    expect(x.mean).toBeCloseTo(2.2, 12)
    expect(x.std).toBeCloseTo(Math.sqrt(1.7), 12)
    expect(x.quantiles!.p50).toBe(2)
    const label = first.columns[1]!
    expect(label).toMatchObject({
      kind: 'categorical',
      count: 4,
      nulls: 1,
      distinct: 2,
      top: [
        { value: 'a', count: 3 },
        { value: 'b', count: 1 },
      ],
    })
    expect(first).toMatchObject({ rows: 5, columnCount: 2, duplicateRows: 1, cached: false })
    const second = await engine.call('data.profile', { dataset: 'small' })
    expect(second).toEqual({ ...first, cached: true })
  })
})
