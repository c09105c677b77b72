import path from 'node:path'
import { describe, expect, it } from 'vitest'
import type { Engine } from '../../../src-main/engine/engine.js'
import { actionRunner } from '../../../src-main/engine/monitoring/actions.js'
import { literal } from '../../../src-main/engine/monitoring/monitorDb.js'
import { resolveModelVersion } from '../../../src-main/engine/registry/resolve.js'
import { listAudit } from '../../../src-main/engine/workspace/audit.js'
import { openTestEngine, tempDir } from '../../helpers/workspace.js'
import { replayWeatherDays, trainWeatherModel, weatherCsv } from './engineHelpers.js'

/**
 * A newer dataset version for continuous training: the original days plus the
 * warmer 2015 the traffic showed, as a second version of the same dataset.
 */
async function importNewerWeather(engine: Engine): Promise<void> {
  const file = path.join(tempDir(), 'seattle-weather-plus.csv')
  const conn = await engine.workspace.monitor()
  await conn.run(
    `COPY (SELECT * FROM read_csv(${literal(weatherCsv)})
           UNION ALL SELECT date + INTERVAL 4 YEAR, precipitation, temp_max + 12, temp_min + 12, wind, weather
           FROM read_csv(${literal(weatherCsv)}) WHERE year(date) = 2015) TO ${literal(file)} (HEADER)`,
  )
  await engine.call('data.import', { name: 'weather', path: file })
}

async function driftAlertWithRetrain(engine: Engine, action: { type: 'retrain'; dataset?: string } = { type: 'retrain', dataset: 'weather@2' }) {
  await engine.call('monitoring.monitors.add', { name: 'weather', model: 'weather', spec: { window: { last: 365 } } })
  await engine.call('monitoring.rules.add', {
    monitor: 'weather',
    name: 'temperature drift',
    metric: 'feature.temp_max.drifted',
    op: '>=',
    threshold: 1,
    actions: [action],
  })
  await replayWeatherDays(engine, { year: 2015, shiftTemp: 12, prefix: 'hot', limit: 365 })
  const run = await engine.call('monitoring.monitors.run', { monitor: 'weather' })
  expect(run.alerts).toHaveLength(1)
  await actionRunner(engine.context).idle()
  const [alert] = await engine.call('monitoring.alerts.list', { model: 'weather' })
  return alert!
}

describe('continuous training from an alert', () => {
  it('retrains on the newer dataset version and promotes the new version when it passes the gate', async () => {
    const engine = openTestEngine()
    const { runId: firstRun } = await trainWeatherModel(engine)
    await importNewerWeather(engine)
    await engine.call('registry.gate.set', { model: 'weather', alias: 'production', gate: { thresholds: [{ metric: 'test.accuracy', op: '>=', value: 0.3 }] } })

    const alert = await driftAlertWithRetrain(engine)
    const outcome = alert.actions[0]!
    expect(outcome).toMatchObject({ type: 'retrain', status: 'done', promoted: true, version: 2 })
    expect(outcome.runId).not.toBe(firstRun)

    const production = resolveModelVersion(engine.context, 'weather', 'production')
    expect(production.version).toBe(2)
    // Same specification, newer data.
    const { run: newRun } = await engine.call('training.runs.show', { run: outcome.runId! })
    expect(newRun.dataset).toMatchObject({ name: 'weather', version: 2 })
    expect(newRun.features.map((f) => f.name)).toEqual(['precipitation', 'temp_max', 'temp_min', 'wind'])
    // The audit log ties the move to the alert that caused it.
    const audit = listAudit(engine.workspace.db).filter((a) => JSON.stringify(a).includes(alert.id))
    expect(audit.map((a) => a.action)).toEqual(expect.arrayContaining(['monitoring.retrain.start', 'monitoring.retrain.promoted']))
    expect(audit.length).toBeGreaterThanOrEqual(3)
  })

  it('keeps production where it is when the retrained version fails the gate', async () => {
    const engine = openTestEngine()
    await trainWeatherModel(engine)
    await importNewerWeather(engine)
    await engine.call('registry.gate.set', {
      model: 'weather',
      alias: 'production',
      gate: { thresholds: [{ metric: 'test.accuracy', op: '>=', value: 0.999 }] },
    })

    const alert = await driftAlertWithRetrain(engine)
    expect(alert.actions[0]).toMatchObject({ type: 'retrain', status: 'done', promoted: false, version: 2 })
    expect(alert.actions[0]!.detail).toContain('gate kept production on v1')
    expect(resolveModelVersion(engine.context, 'weather', 'production').version).toBe(1)
    const refused = listAudit(engine.workspace.db).filter((a) => a.action === 'monitoring.retrain.refused')
    expect(refused).toHaveLength(1)
    expect(refused[0]!.reason).toContain(alert.id)
  })

  it('learns from labelled traffic: the training data plus the labelled logged rows become the next dataset version', async () => {
    const engine = openTestEngine()
    await trainWeatherModel(engine)
    await engine.call('registry.gate.set', { model: 'weather', alias: 'production', gate: { thresholds: [{ metric: 'test.accuracy', op: '>=', value: 0.3 }] } })
    await engine.call('monitoring.monitors.add', { name: 'weather', model: 'weather', spec: { window: { last: 365 } } })
    await engine.call('monitoring.rules.add', {
      monitor: 'weather',
      name: 'temperature drift',
      metric: 'feature.temp_max.drifted',
      op: '>=',
      threshold: 1,
      actions: [{ type: 'retrain', withLabelledTraffic: true }],
    })
    const hot = await replayWeatherDays(engine, { year: 2015, shiftTemp: 12, prefix: 'hot', limit: 365 })
    // Labels arrive for 200 of the 365 days.
    await engine.call('monitoring.feedback', {
      model: 'weather',
      items: hot.slice(0, 200).map((r) => ({ request_id: r.request_id, label: (r as unknown as { label: string }).label })),
    })
    expect((await engine.call('monitoring.monitors.run', { monitor: 'weather', waitForActions: true })).alerts).toHaveLength(1)
    const [alert] = await engine.call('monitoring.alerts.list', { model: 'weather' })
    // The retrained version is registered and says what it learned from; on this split it is no more accurate than v1
    // (the same accuracy), so production stays: a retrain moves the alias only when it improves.
    expect(alert!.actions[0], alert!.actions[0]!.detail).toMatchObject({ type: 'retrain', status: 'done', version: 2 })
    expect(alert!.actions[0]!.detail).toContain('weather@1 plus 200 labelled rows of traffic')

    // 1461 days of the original version plus the 200 labelled ones.
    const dataset = await engine.call('data.show', { dataset: 'weather@2' })
    expect(dataset.version.rows).toBe(1661)
    const { run } = await engine.call('training.runs.show', { run: alert!.actions[0]!.runId! })
    expect(run.dataset).toMatchObject({ name: 'weather', version: 2 })
    const production = resolveModelVersion(engine.context, 'weather', 'production').version
    expect(production).toBe(alert!.actions[0]!.promoted ? 2 : 1)
    if (!alert!.actions[0]!.promoted)
      expect(alert!.actions[0]!.detail).toMatch(/^no improvement: v2 test\.accuracy = [\d.]+ vs v1 [\d.]+ on weather@2 test split/)
  })

  it('a retrain on the data production already learned from does not improve: the alert says so with both numbers, and production stays', async () => {
    const engine = openTestEngine()
    await trainWeatherModel(engine)
    const alert = await driftAlertWithRetrain(engine, { type: 'retrain', dataset: 'weather@1' })
    expect(alert.actions[0]).toMatchObject({ type: 'retrain', status: 'done', promoted: false, version: 2 })
    expect(alert.actions[0]!.detail).toMatch(
      /^no improvement: v2 test\.accuracy = 0\.\d{4} vs v1 0\.\d{4} on weather@1 test split, \d+ rows; production stays on v1 \(trained on weather@1: the dataset the rule names\)$/,
    )
    expect(resolveModelVersion(engine.context, 'weather', 'production').version).toBe(1)
    expect(listAudit(engine.workspace.db).filter((a) => a.action === 'monitoring.retrain.no_improvement')).toHaveLength(1)
  })

  it('with no labels, no newer data and no dataset named, the retrain is skipped and says why', async () => {
    const engine = openTestEngine()
    await trainWeatherModel(engine)
    const alert = await driftAlertWithRetrain(engine, { type: 'retrain' })
    expect(alert.actions[0]).toMatchObject({ type: 'retrain', status: 'skipped' })
    expect(alert.actions[0]!.detail).toContain('no newer data: v1 was trained on weather@1, the newest version, and no logged row has a label')
    expect((await engine.call('registry.models.show', { model: 'weather' })).versions).toHaveLength(1)
  })
})
