import fs from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { latheSync } from '../../cli/run-lathe.js'
import { openTestEngine, tempDir } from '../../helpers/workspace.js'
import { replayWeatherDays, trainWeatherModel } from './engineHelpers.js'

const runLathe = (args: string[]) => latheSync(args)

describe('lathe drift, monitor, alerts and feedback', () => {
  it('reports drift as JSON, uploads labels from CSV, runs a monitor and acknowledges its alert', { timeout: 240_000 }, async () => {
    const dir = tempDir()
    const engine = openTestEngine(dir)
    await trainWeatherModel(engine)
    const hot = await replayWeatherDays(engine, { year: 2015, shiftTemp: 12, prefix: 'hot', limit: 365 })
    await engine.close()

    const drift = runLathe(['drift', 'weather', '--workspace', dir, '--last', '365', '--json'])
    expect(drift.code).toBe(0)
    // Progress goes to stderr, never into the JSON on stdout: the passes as they run, then each feature.
    expect(drift.stderr).toMatch(/^(drift of weather: \d+\/\d+ \([^)\n]+\)\n)*$/)
    // Not a terminal: the first step, then at most a line a second.
    expect(drift.stderr.split('\n')[0]).toBe('drift of weather: 0/4 (counting the values of 1 categorical column)')
    const report = JSON.parse(drift.stdout)
    expect(report).toMatchObject({ model: 'weather', version: 1, reference: { rows: expect.any(Number) }, current: { rows: 365 }, dataset_drift: true })
    expect(report.drift_share).toBeGreaterThanOrEqual(0.5)
    const tempMax = report.features.find((f: { name: string }) => f.name === 'temp_max')
    // By default only what the method and the chart need; --all-statistics adds KS and PSI.
    expect(Object.keys(tempMax)).toEqual(
      expect.arrayContaining(['name', 'kind', 'method', 'statistic', 'p_value', 'threshold', 'drifted', 'wasserstein_normed']),
    )
    expect(tempMax).not.toHaveProperty('ks_statistic')
    expect(tempMax).toMatchObject({ kind: 'numeric', method: 'wasserstein', drifted: true, p_value: null })
    const all = runLathe(['drift', 'weather', '--workspace', dir, '--last', '365', '--json', '--all-statistics'])
    expect(all.code).toBe(0)
    const allTempMax = JSON.parse(all.stdout).features.find((f: { name: string }) => f.name === 'temp_max')
    expect(Object.keys(allTempMax)).toEqual(expect.arrayContaining(['ks_statistic', 'ks_pvalue', 'wasserstein_normed', 'psi']))
    expect(allTempMax.wasserstein_normed).toBeCloseTo(tempMax.wasserstein_normed, 9)

    const csv = path.join(dir, 'labels.csv')
    fs.writeFileSync(
      csv,
      ['request_id,label', ...hot.slice(0, 50).map((r) => `${r.request_id},${(r as unknown as { label: string }).label}`), 'nobody,sun'].join('\n'),
    )
    const feedback = runLathe(['feedback', 'weather', csv, '--workspace', dir, '--json'])
    expect(feedback.code).toBe(0)
    expect(JSON.parse(feedback.stdout)).toMatchObject({ rows: 51, recorded: 50, unknown: [{ request_id: 'nobody', row_index: 0 }] })

    const add = runLathe(['monitor', 'add', 'hot', '--model', 'weather', '--last', '365', '--alert', 'drift_share >= 0.5', '--workspace', dir, '--json'])
    expect(add.stderr).toBe('')
    expect(JSON.parse(add.stdout).rules).toHaveLength(1)
    const list = runLathe(['monitor', 'list', '--workspace', dir])
    expect(list.stdout).toContain('drift_share >= 0.5 -> notify')

    const run = runLathe(['monitor', 'run', 'hot', '--workspace', dir])
    expect(run.code).toBe(0)
    expect(run.stdout).toMatch(/dataset drift YES/)
    expect(run.stdout).toMatch(/ALERT alert_\w+: weather: drift_share >= 0.5/)
    const alertId = /ALERT (alert_\w+)/.exec(run.stdout)![1]!

    const ack = runLathe(['alerts', 'ack', alertId, '--workspace', dir])
    expect(ack.code).toBe(0)
    const alerts = JSON.parse(runLathe(['alerts', 'list', '--workspace', dir, '--json']).stdout)
    expect(alerts).toHaveLength(1)
    expect(alerts[0]).toMatchObject({ id: alertId, status: 'acknowledged' })
  })

  it('says what is wrong, on one line with exit code 1', { timeout: 240_000 }, async () => {
    const dir = tempDir()
    const engine = openTestEngine(dir)
    await trainWeatherModel(engine)
    await engine.close()
    const noTraffic = runLathe(['drift', 'weather', '--workspace', dir])
    expect(noTraffic.code).toBe(1)
    expect(noTraffic.stderr).toMatch(/^lathe: no traffic has been logged for weather yet/)
    const badSince = runLathe(['drift', 'weather', '--since', 'yesterday', '--workspace', dir])
    expect(badSince.code).toBe(1)
    expect(badSince.stderr).toContain('"yesterday" is not an ISO date')
    const csv = path.join(dir, 'labels.csv')
    fs.writeFileSync(csv, 'id,truth\na,sun\n')
    const badCsv = runLathe(['feedback', 'weather', csv, '--workspace', dir])
    expect(badCsv.code).toBe(1)
    expect(badCsv.stderr).toContain('has no column "request_id" (its columns: id, truth); name it with --id-column')
    const badAlert = runLathe(['monitor', 'add', 'x', '--model', 'weather', '--alert', 'drift is high', '--workspace', dir])
    expect(badAlert.code).toBe(2)
  })
})
