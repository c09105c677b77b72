import type { EngineContext } from '../context.js'
import { resolveModelVersion } from '../registry/index.js'
import { actionRunner } from './actions.js'
import type { LogWindow } from './drift/sources.js'
import { modelDrift, type ModelDriftReport } from './modelDrift.js'
import { loggedRowCount, qualityForWindow, trafficForWindow, type QualityResult } from './quality.js'
import { describeAlert, evaluateRules, reportValues } from './rules.js'
import { getMonitor, insertAlert, insertReport, listAlerts, listRules, markMonitorRun, setActionOutcome } from './store.js'
import type { Alert, Monitor, ReportValues } from './types.js'

/**
 * One run of a monitor: drift of its window of traffic against the reference,
 * quality where labels exist, traffic health; stored as a report (the history the
 * charts draw), then every rule is checked and a firing rule raises an alert and
 * starts its actions.
 */
export interface MonitorRunResult {
  monitor: string
  model: string
  version: number | null
  status: 'ran' | 'skipped'
  reason?: string
  reportId: string | null
  values: ReportValues
  alerts: Alert[]
}

export function windowOf(monitor: Monitor): LogWindow {
  const window: LogWindow = {}
  if (monitor.spec.window.last) window.last = monitor.spec.window.last
  if (monitor.spec.window.minutes) window.since = new Date(Date.now() - monitor.spec.window.minutes * 60_000).toISOString()
  return window
}

export async function runMonitor(ctx: EngineContext, idOrName: string): Promise<MonitorRunResult> {
  const db = ctx.workspace.db
  const monitor = getMonitor(db, idOrName)
  const requestsNow = await loggedRowCount(ctx, monitor.model)
  const window = windowOf(monitor)
  const version = resolveModelVersion(ctx, monitor.model, monitor.spec.selector)
  const traffic = await trafficForWindow(ctx, monitor.model, window)
  const base = { monitor: monitor.name, model: monitor.model, version: version.version, alerts: [] as Alert[] }
  if ((traffic.rows ?? 0) < monitor.spec.minRows) {
    markMonitorRun(db, monitor.id, requestsNow)
    const reason = `${traffic.rows ?? 0} logged rows in the window, fewer than the ${monitor.spec.minRows} needed`
    ctx.events.emit('monitoring.report', { monitor: monitor.name, model: monitor.model, status: 'skipped', reason })
    return { ...base, status: 'skipped', reason, reportId: null, values: {} }
  }

  const drift: ModelDriftReport = await modelDrift(ctx, {
    model: monitor.model,
    selector: monitor.spec.selector,
    reference: monitor.spec.reference,
    window,
    features: monitor.spec.features,
    driftShareThreshold: monitor.spec.driftShareThreshold,
    // A rule on a statistic other than the method's own (say feature.x.ks_pvalue) needs them all.
    allStatistics: listRules(db, monitor.id).some((r) =>
      /\.(ks_statistic|ks_pvalue|psi|wasserstein_normed|jensenshannon|chi2_statistic|chi2_pvalue)$/.test(r.metric),
    ),
  })
  const quality: QualityResult = await qualityForWindow(ctx, monitor.model, window, version.signature)
  const values = reportValues(drift, quality, traffic)
  const report = insertReport(db, {
    monitorId: monitor.id,
    model: monitor.model,
    version: version.version,
    values,
    report: { drift, quality, traffic },
  })
  markMonitorRun(db, monitor.id, requestsNow)
  ctx.events.emit('monitoring.report', { monitor: monitor.name, model: monitor.model, status: 'ran', reportId: report.id })

  const alerts = raiseAlerts(ctx, monitor, report.id, values)
  return { ...base, status: 'ran', reportId: report.id, values, alerts }
}

/**
 * A rule that is already firing (its last alert still open) does not raise another
 * alert each run: one open alert per rule until someone acknowledges it.
 */
function raiseAlerts(ctx: EngineContext, monitor: Monitor, reportId: string, values: ReportValues): Alert[] {
  const db = ctx.workspace.db
  const open = new Set(listAlerts(db, { model: monitor.model, status: 'open' }).map((a) => a.ruleId))
  const raised: Alert[] = []
  for (const verdict of evaluateRules(listRules(db, monitor.id), values)) {
    if (!verdict.firing || open.has(verdict.rule.id)) continue
    const rule = verdict.rule
    let alert = insertAlert(db, {
      ruleId: rule.id,
      monitorId: monitor.id,
      reportId,
      model: monitor.model,
      metric: rule.metric,
      value: verdict.value,
      op: rule.op,
      threshold: rule.threshold,
      message: describeAlert(monitor.model, rule, verdict.value!),
      actions: rule.actions.map((a) => ({ type: a.type, status: 'pending' as const, detail: '' })),
    })
    const outcomes = actionRunner(ctx).start(alert, rule.actions)
    outcomes.forEach((outcome, i) => {
      // Background actions may already have recorded a later outcome; keep theirs.
      const now = alert.actions[i]
      if (now?.status === 'pending' && now.detail === '') alert = setActionOutcome(db, alert.id, i, outcome)
    })
    ctx.events.emit('monitoring.alert.raised', { alert })
    raised.push(alert)
  }
  return raised
}
