import { spawnSync } from 'node:child_process'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { tempDir } from '../helpers/workspace.js'

const lathe = path.resolve('bin/lathe.mjs')

describe('lathe demo', () => {
  it('runs the whole lifecycle on the bundled data and closes the loop with a gated retrain', () => {
    const workspace = tempDir('lathe-demo-')
    const result = spawnSync(process.execPath, [lathe, 'demo', '--workspace', workspace, '--epochs', '30', '--json'], {
      encoding: 'utf8',
      timeout: 240_000,
    })
    expect(result.stderr).not.toMatch(/internal error/)
    expect(result.status).toBe(0)
    const summary = JSON.parse(result.stdout)
    expect(summary.workspace).toBe(workspace)
    expect(summary.data.rows).toBe(1461)
    expect(summary.model.accuracy).toBeGreaterThan(0.6)
    expect(summary.serving.gatePassed).toBe(true)
    expect(summary.traffic).toMatchObject({ requests: 730, failures: 0, labelled: 730 })
    const names = summary.drift.features.map((f: { name: string }) => f.name).sort()
    expect(names).toEqual(['month', 'precipitation', 'temp_max', 'temp_min', 'wind'])
    // Temperatures of 2014-2015 are warmer than 2012-2013 in this data: KS says so.
    const tempMax = summary.drift.features.find((f: { name: string }) => f.name === 'temp_max')
    expect(tempMax.drifted).toBe(true)
    expect(summary.alerts).toHaveLength(1)
    const retrain = summary.alerts[0].actions.find((a: { type: string }) => a.type === 'retrain')
    expect(retrain.status).toBe('done')
    expect(typeof retrain.version).toBe('number')
    // The retrained version is production exactly when it passed the gate.
    expect(summary.production).toBe(retrain.promoted ? retrain.version : summary.model.version)
  }, 300_000)
})
