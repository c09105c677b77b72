import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { describe, expect, it } from 'vitest'
import { actionRunner } from '../../../src-main/engine/monitoring/actions.js'
import { monitorScheduler } from '../../../src-main/engine/monitoring/scheduler.js'
import { afterThisTest, openTestEngine } from '../../helpers/workspace.js'
import { replayWeatherDays, trainWeatherModel } from './engineHelpers.js'

/** A local webhook receiver on a free port that fails its first `failFirst` deliveries. */
async function webhookReceiver(failFirst = 0) {
  const received: unknown[] = []
  let calls = 0
  const server = http.createServer((req, res) => {
    let body = ''
    req.on('data', (chunk) => (body += chunk))
    req.on('end', () => {
      calls++
      if (calls <= failFirst) {
        res.writeHead(503).end()
        return
      }
      received.push(JSON.parse(body))
      res.writeHead(204).end()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  afterThisTest(() => new Promise<void>((resolve) => server.close(() => resolve())))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, received, calls: () => calls }
}

describe('monitors, quality and alerts on a real model', () => {
  it('drifted traffic raises an alert with a notification and a webhook retried until it is delivered; steady traffic does not', async () => {
    const engine = openTestEngine()
    await trainWeatherModel(engine)
    const hook = await webhookReceiver(1)
    const notified: unknown[] = []
    engine.events.subscribe(['monitoring.alert'], (e) => notified.push(e.payload))

    const monitor = await engine.call('monitoring.monitors.add', { name: 'weather-drift', model: 'weather', spec: { window: { last: 365 } } })
    await engine.call('monitoring.rules.add', {
      monitor: 'weather-drift',
      name: 'dataset drift',
      metric: 'dataset_drift',
      op: '>=',
      threshold: 1,
      actions: [{ type: 'notify' }, { type: 'webhook', url: hook.url, maxAttempts: 3 }],
    })

    // The same climate, a later year: no dataset drift.
    const steady = await replayWeatherDays(engine, { year: 2014, shiftTemp: 0, prefix: 'steady', limit: 365 })
    const calm = await engine.call('monitoring.monitors.run', { monitor: monitor.id })
    expect(calm.status).toBe('ran')
    // Real weather varies year to year (2014 was windier), but not most features at once.
    expect(calm.values.drift_share).toBeLessThan(0.5)
    expect(calm.values.dataset_drift).toBe(0)
    expect(calm.alerts).toEqual([])

    // Labels arrive for the steady traffic: quality per window joins them by request id.
    const feedback = await engine.call('monitoring.feedback', {
      model: 'weather',
      items: steady.map((r) => ({ request_id: r.request_id, label: (r as unknown as { label: string }).label })),
    })
    expect(feedback).toMatchObject({ recorded: 365, unknown: [] })
    const quality = await engine.call('monitoring.quality', { model: 'weather', last: 365 })
    expect(quality.labelled).toBe(365)
    // The logged "prediction" was the true label, so every labelled row is right.
    expect(quality.metrics!.accuracy).toBe(1)

    // A much warmer climate: both temperatures drift, and so does the dataset (2 of 4 >= 0.5).
    await replayWeatherDays(engine, { year: 2015, shiftTemp: 12, prefix: 'hot', limit: 365 })
    const hot = await engine.call('monitoring.monitors.run', { monitor: 'weather-drift', waitForActions: true })
    expect(hot.values.dataset_drift).toBe(1)
    expect(hot.values['feature.temp_max.drifted']).toBe(1)
    expect(hot.values['feature.temp_min.drifted']).toBe(1)
    expect(hot.alerts).toHaveLength(1)
    const alert = hot.alerts[0]!
    expect(alert.message).toContain('dataset_drift')
    expect(alert.actions[0]).toMatchObject({ type: 'notify', status: 'done' })
    expect(alert.actions[1]).toMatchObject({ type: 'webhook', status: 'done', attempts: 2 })
    expect(hook.calls()).toBe(2)
    expect(hook.received).toHaveLength(1)
    expect((hook.received[0] as { alert: { id: string } }).alert.id).toBe(alert.id)
    expect(notified).toHaveLength(1)

    // Still drifted on the next run, but the open alert is not repeated until acknowledged.
    const again = await engine.call('monitoring.monitors.run', { monitor: 'weather-drift' })
    expect(again.alerts).toEqual([])
    const acked = await engine.call('monitoring.alerts.ack', { alert: alert.id })
    expect(acked.status).toBe('acknowledged')
    expect((await engine.call('monitoring.alerts.list', { model: 'weather', status: 'open' })).length).toBe(0)

    // Every run is kept: drift over time for the charts.
    const history = await engine.call('monitoring.reports.list', { model: 'weather' })
    expect(history.map((h) => h.values.dataset_drift)).toEqual([0, 1, 1])
    const full = await engine.call('monitoring.reports.get', { id: history[1]!.id })
    const tempMax = full.report.drift!.features.find((f) => f.name === 'temp_max')!
    expect(tempMax.chart.kind).toBe('histogram')
  })

  it('a webhook that never answers is given up after its attempts and recorded as failed, without holding the monitor', async () => {
    const engine = openTestEngine()
    await trainWeatherModel(engine)
    const hook = await webhookReceiver(100)
    await engine.call('monitoring.monitors.add', { name: 'm', model: 'weather', spec: { window: { last: 200 } } })
    await engine.call('monitoring.rules.add', {
      monitor: 'm',
      name: 'any traffic',
      metric: 'traffic.rows',
      op: '>',
      threshold: 0,
      actions: [{ type: 'webhook', url: hook.url, maxAttempts: 2 }],
    })
    await replayWeatherDays(engine, { year: 2013, shiftTemp: 0, prefix: 'r', limit: 200 })
    const run = await engine.call('monitoring.monitors.run', { monitor: 'm' })
    expect(run.alerts[0]!.actions[0]).toMatchObject({ type: 'webhook', status: 'pending' })
    await actionRunner(engine.context).idle()
    const [alert] = await engine.call('monitoring.alerts.list', { model: 'weather' })
    expect(alert!.actions[0]).toMatchObject({ type: 'webhook', status: 'failed', attempts: 2 })
    expect(alert!.actions[0]!.detail).toContain('HTTP 503')
  })

  it('a monitor scheduled every N requests runs once that much traffic has arrived', async () => {
    const engine = openTestEngine()
    await trainWeatherModel(engine)
    await engine.call('monitoring.monitors.add', {
      name: 'every-100',
      model: 'weather',
      spec: { window: { last: 100 }, schedule: { everyRequests: 100 } },
    })
    const scheduler = monitorScheduler(engine.context)
    await scheduler.tick()
    expect(await engine.call('monitoring.reports.list', { model: 'weather' })).toEqual([])
    await replayWeatherDays(engine, { year: 2013, shiftTemp: 0, prefix: 'a', limit: 150 })
    await scheduler.tick()
    expect(await engine.call('monitoring.reports.list', { model: 'weather' })).toHaveLength(1)
    // 150 counted at that run: 50 more is not yet another 100.
    await replayWeatherDays(engine, { year: 2014, shiftTemp: 0, prefix: 'b', limit: 50 })
    await scheduler.tick()
    expect(await engine.call('monitoring.reports.list', { model: 'weather' })).toHaveLength(1)
  })

  it('alerts on the error rate the endpoint sees, refused requests included', async () => {
    const engine = openTestEngine()
    await trainWeatherModel(engine)
    const status = await engine.call('serving.start', { port: 0, models: [{ model: 'weather', default: true }] })
    afterThisTest(() => engine.call('serving.stop', {}).then(() => undefined))
    const post = (body: unknown) =>
      fetch(`${status.url}/invocations`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
    const day = { precipitation: 0, temp_max: 12.8, temp_min: 5, wind: 4.7 }
    for (let i = 0; i < 3; i++) expect((await post({ dataframe_records: [day] })).status).toBe(200)
    expect((await post({ dataframe_records: [{ ...day, temp_max: 'warm' }] })).status).toBe(400)
    // Wait for the background log writer to land the three answered rows.
    for (let i = 0; i < 100 && (await engine.call('monitoring.quality', { model: 'weather', last: 10 })).rows < 3; i++) {
      await new Promise((r) => setTimeout(r, 50))
    }
    await engine.call('monitoring.monitors.add', { name: 'errors', model: 'weather', spec: { window: { last: 100 }, minRows: 1 } })
    await engine.call('monitoring.rules.add', { monitor: 'errors', name: 'errors', metric: 'traffic.error_rate', op: '>', threshold: 0.2, actions: [] })
    const run = await engine.call('monitoring.monitors.run', { monitor: 'errors' })
    expect(run.values['traffic.endpoint_requests']).toBe(4)
    expect(run.values['traffic.error_rate']).toBe(0.25)
    expect(run.values['traffic.rows']).toBe(3)
    expect(run.values['traffic.p99_latency_ms']).toBeGreaterThan(0)
    expect(run.alerts.map((a) => a.metric)).toEqual(['traffic.error_rate'])
  })

  it('a monitor scheduled every N minutes runs when that time has passed since its last run', async () => {
    const engine = openTestEngine()
    await trainWeatherModel(engine)
    await replayWeatherDays(engine, { year: 2013, shiftTemp: 0, prefix: 'a', limit: 100 })
    const monitor = await engine.call('monitoring.monitors.add', {
      name: 'often',
      model: 'weather',
      spec: { window: { last: 100 }, schedule: { everyMinutes: 10 } },
    })
    const created = Date.parse(monitor.createdAt)
    const scheduler = monitorScheduler(engine.context)
    await scheduler.tick(created + 9 * 60_000)
    expect(await engine.call('monitoring.reports.list', { model: 'weather' })).toEqual([])
    await scheduler.tick(created + 10 * 60_000)
    const [report] = await engine.call('monitoring.reports.list', { model: 'weather' })
    expect(report).toBeDefined()
    // Ten minutes from that run, not from the monitor's creation.
    const ran = Date.parse((await engine.call('monitoring.monitors.list', {}))[0]!.lastRunAt!)
    await scheduler.tick(ran + 5 * 60_000)
    expect(await engine.call('monitoring.reports.list', { model: 'weather' })).toHaveLength(1)
    await scheduler.tick(ran + 10 * 60_000)
    expect(await engine.call('monitoring.reports.list', { model: 'weather' })).toHaveLength(2)
  })

  it('bad rules and unknown monitors are refused with what to fix', async () => {
    const engine = openTestEngine()
    await trainWeatherModel(engine)
    await expect(engine.call('monitoring.monitors.add', { name: 'x', model: 'nope' })).rejects.toThrow(/no model named "nope"/)
    await engine.call('monitoring.monitors.add', { name: 'x', model: 'weather' })
    await expect(engine.call('monitoring.monitors.add', { name: 'x', model: 'weather' })).rejects.toThrow(/already exists/)
    await expect(
      engine.call('monitoring.rules.add', {
        monitor: 'x',
        name: 'r',
        metric: 'drift_share',
        threshold: 0.5,
        actions: [{ type: 'webhook', url: 'ftp://x' }],
      } as never),
    ).rejects.toThrow(/http/)
    await expect(engine.call('monitoring.rules.add', { monitor: 'x', name: 'r', metric: 'drift', threshold: 0.5 })).rejects.toThrow(
      /"drift" is not a report value/,
    )
    await expect(engine.call('monitoring.monitors.run', { monitor: 'y' })).rejects.toThrow(/no monitor "y" \(monitors: x\)/)
    expect(await engine.call('monitoring.rules.list', {})).toEqual([])
  })

  it('checks a batch dataset version before it is scored: the whole table against its own training split', async () => {
    const engine = openTestEngine()
    await trainWeatherModel(engine)
    const progress: unknown[] = []
    engine.events.subscribe(['monitoring.drift.progress'], (e) => progress.push(e.payload))
    const batch = await engine.call('monitoring.drift', { model: 'weather', current: 'weather@1', save: false })
    expect(progress.at(-1)).toEqual({ model: 'weather', done: 4, total: 4, feature: 'wind' })
    expect(batch.current).toEqual({ label: 'weather@1', rows: 1461 })
    expect(batch.reference.label).toBe('weather@1 (train split)')
    expect(batch.dataset_drift).toBe(false)
    expect(batch.features.map((f) => f.name)).toEqual(['precipitation', 'temp_max', 'temp_min', 'wind'])
    // No traffic, so no model output to compare; nothing stored when save is false.
    expect(batch.prediction).toBeNull()
    expect(batch.reportId).toBeNull()
    await expect(engine.call('monitoring.drift', { model: 'weather', reference: 'nope@1', current: 'weather@1' })).rejects.toThrow(/no dataset named "nope"/)
  })
})
