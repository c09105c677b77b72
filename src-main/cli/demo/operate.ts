import fs from 'node:fs/promises'
import type { Client } from '../session.js'
import type { DemoData, DemoModel } from './build.js'
import { DEMO, demoDataFile, fmt, type DemoOptions } from './config.js'

export interface DemoServing {
  url: string
  version: number
  gatePassed: boolean
}

/** Gate the first version into production and put it behind the local endpoint. */
export async function promoteAndServe(client: Client, options: DemoOptions, model: DemoModel): Promise<DemoServing> {
  options.say('3. Promote through the gate and serve')
  await client.call('registry.gate.set', {
    model: DEMO.model,
    alias: 'production',
    gate: {
      thresholds: [{ metric: 'test.accuracy', op: '>=', value: 0.6 }],
      noWorseThan: { metric: 'accuracy', tolerance: 0.02 },
      signatureCompatible: true,
      dataValidation: true,
    },
  })
  const promoted = await client.call('registry.promote', { model: DEMO.model, version: model.version, alias: 'production' })
  for (const check of promoted.gate.checks) options.say(`   gate ${check.passed ? 'pass' : 'FAIL'}  ${check.name}: ${check.detail}`)
  options.say(`   production -> ${DEMO.model} v${promoted.version} (was ${promoted.previous ?? 'unset'})`)
  const status = await client.call('serving.start', { port: options.servingPort, models: [{ model: DEMO.model, default: true }] })
  options.say(`   serving at ${status.url} (MLflow /invocations, Open Inference Protocol /v2, /metrics)`)
  return { url: status.url!, version: promoted.version, gatePassed: promoted.gate.passed }
}

export interface DemoTraffic {
  requests: number
  failures: number
  p50Ms: number
  p99Ms: number
  labelled: number
}

interface Day {
  date: string
  row: Record<string, number>
  label: string
}

async function laterDays(): Promise<Day[]> {
  const [header, ...lines] = (await fs.readFile(demoDataFile(), 'utf8')).trim().split('\n')
  const names = header!.split(',')
  return lines
    .map((line) => Object.fromEntries(line.split(',').map((value, i) => [names[i]!, value])))
    .filter((r) => r.date! >= '2014-01-01')
    .map((r) => ({
      date: r.date!,
      label: r.weather!,
      row: {
        precipitation: Number(r.precipitation),
        temp_max: Number(r.temp_max),
        temp_min: Number(r.temp_min),
        wind: Number(r.wind),
        month: Number(r.date!.slice(5, 7)),
      },
    }))
}

/** Replays 2014-2015, one request per day as a client would send it, then posts the true weather as late labels. */
export async function replayTraffic(client: Client, options: DemoOptions, serving: DemoServing, _data: DemoData): Promise<DemoTraffic> {
  const days = await laterDays()
  options.say(`4. Replay ${days.length} later days (2014-2015) as traffic, then send their true labels`)
  // Request ids unique to this replay, so a second demo's labels join its own requests.
  const replay = `demo-${Date.now().toString(36)}`
  const latencies: number[] = []
  let failures = 0
  let next = 0
  const worker = async () => {
    while (next < days.length) {
      const day = days[next++]!
      const started = performance.now()
      const response = await fetch(`${serving.url}/invocations`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-request-id': `${replay}-${day.date}` },
        body: JSON.stringify({ dataframe_records: [day.row] }),
      })
      await response.arrayBuffer()
      latencies.push(performance.now() - started)
      if (!response.ok) failures++
      if (latencies.length % 50 === 0) options.progress(`   ${latencies.length}/${days.length} requests`)
    }
  }
  await Promise.all(Array.from({ length: 8 }, worker))
  options.progress('')
  latencies.sort((a, b) => a - b)
  const pick = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0
  await logDrained(client)
  const labels = new Map(days.map((d) => [`${replay}-${d.date}`, d.label]))
  let labelled = 0
  // Labels join logged requests only; the log writes in the background, so a label that
  // arrives before its request's row is reported back unknown and is sent again.
  for (let attempt = 0; attempt < 20 && labels.size > 0; attempt++) {
    if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 250))
    const feedback = await client.call('monitoring.feedback', {
      model: DEMO.model,
      items: [...labels].map(([request_id, label]) => ({ request_id, row_index: 0, label })),
    })
    labelled += feedback.recorded
    const unknown = new Set(feedback.unknown.map((u) => u.request_id))
    for (const id of [...labels.keys()]) if (!unknown.has(id)) labels.delete(id)
  }
  const traffic = { requests: days.length, failures, p50Ms: pick(0.5), p99Ms: pick(0.99), labelled }
  options.say(
    `   ${traffic.requests} requests, ${failures} failed, client-side latency p50 ${fmt(traffic.p50Ms, 2)} ms, ` +
      `p99 ${fmt(traffic.p99Ms, 2)} ms; ${traffic.labelled} labels joined to logged requests`,
  )
  return traffic
}

/** Waits (briefly) until the serving log has written every queued row. */
async function logDrained(client: Client): Promise<void> {
  for (let attempt = 0; attempt < 40; attempt++) {
    const status = await client.call('serving.status', {})
    if (status.log.queuedRows === 0) return
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

/** Drift and quality on the replayed window, an alert rule that fires, and the retrain it triggers. */
export async function monitorAndRetrain(client: Client, options: DemoOptions, data: DemoData, traffic: DemoTraffic) {
  options.say('5. Drift and quality of the served model')
  const drift = await client.call('monitoring.drift', { model: DEMO.model, last: traffic.requests })
  for (const f of drift.features) {
    // Small samples decide on a test's p-value, large ones on a distance (see monitoring/drift).
    const byPValue = typeof f.p_value === 'number' && (f.method === 'ks' || f.method === 'chi2')
    const decision = byPValue
      ? `p = ${fmt(f.p_value, 4)} ${f.drifted ? '<' : '>='} ${fmt(f.threshold, 2)}`
      : `${fmt(f.statistic, 4)} ${f.drifted ? '>' : '<='} ${fmt(f.threshold, 2)}`
    options.say(`   ${f.drifted ? 'DRIFT' : 'ok   '}  ${f.name.padEnd(14)} ${f.method} ${byPValue ? `statistic ${fmt(f.statistic, 4)}, ` : ''}${decision}`)
  }
  options.say(`   dataset drift: ${drift.dataset_drift ? 'yes' : 'no'} (share ${fmt(drift.drift_share, 2)} of features drifted)`)
  const quality = await client.call('monitoring.quality', { model: DEMO.model, last: traffic.requests })
  const q = quality as unknown as { labelled?: number; metrics?: Record<string, number> | null }
  options.say(`   quality on ${q.labelled ?? 0} labelled requests: accuracy ${fmt(q.metrics?.accuracy)}, macro F1 ${fmt(q.metrics?.f1)}`)

  options.say('6. Alert and continuous training')
  // A second demo on the same workspace reuses its monitor and rule.
  const monitorName = `${DEMO.model}-daily`
  const existing = (await client.call('monitoring.monitors.list', { model: DEMO.model })).find((m) => m.name === monitorName)
  const monitorId =
    existing?.id ??
    (
      await client.call('monitoring.monitors.add', {
        name: monitorName,
        model: DEMO.model,
        spec: { window: { last: traffic.requests }, minRows: 30 },
      })
    ).id
  if (!existing?.rules.some((r) => r.name === 'features drifting')) {
    await client.call('monitoring.rules.add', {
      monitor: monitorId,
      name: 'features drifting',
      metric: 'drifted_features',
      op: '>=',
      threshold: 1,
      actions: [{ type: 'notify' }, { type: 'retrain', dataset: data.retrainOn, alias: 'production' }],
    })
  }
  // One open alert per rule: an earlier demo's alert must be acknowledged before this one can fire.
  for (const alert of await client.call('monitoring.alerts.list', { model: DEMO.model, status: 'open' })) {
    await client.call('monitoring.alerts.ack', { alert: alert.id })
    options.say(`   acknowledged an earlier open alert (${alert.message})`)
  }
  const result = await client.call('monitoring.monitors.run', { monitor: monitorId, waitForActions: true })
  for (const alert of result.alerts) {
    options.say(`   ALERT ${alert.message}`)
    for (const action of alert.actions) options.say(`     action ${action.type}: ${action.status}: ${action.detail}`)
  }
  if (result.alerts.length === 0) options.say(`   no alert (${result.status}${result.reason ? `: ${result.reason}` : ''})`)
  const production = await client.call('registry.resolve', { model: DEMO.model, version: 'production' })
  const p = production as unknown as { version: number }
  options.say(`   production now serves ${DEMO.model} v${p.version}`)
  return { drift, quality, alerts: result.alerts, production: p.version }
}
