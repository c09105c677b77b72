import type { EngineContext } from '../context.js'
import { isLatheError } from '../api/common/errors.js'
import { resolveDatasetVersion } from '../data/index.js'
import { evaluateOnTestSplit, findVersion, largerIsBetter, primaryMetric } from '../registry/index.js'
import { registerRun } from '../registry/index.js'
import { promote } from '../registry/index.js'
import { resolveModelVersion } from '../registry/index.js'
import { specOfRun, startRun, waitForRun } from '../training/index.js'
import { getRun } from '../training/index.js'
import { appendAudit } from '../workspace/index.js'
import { datasetWithLabelledTraffic, labelledRowCount } from './labelledTraffic.js'
import { runPipelineAction } from './pipeline-action.js'
import { getAlert, setActionOutcome } from './store.js'
import type { ActionOutcome, Alert, AlertAction } from './types.js'

/**
 * What an alert does: tell the person (an event the UI and the desktop app show),
 * call a webhook, or retrain. Webhooks and retraining run in the background so that
 * neither a slow receiver nor a long training run ever holds up a monitor or serving;
 * each records its outcome on the alert when it ends.
 */
export class AlertActionRunner {
  private readonly pending = new Set<Promise<void>>()
  private closed = false
  private readonly aborter = new AbortController()

  constructor(private readonly ctx: EngineContext) {}

  /** Starts every action of a freshly stored alert; returns the immediate outcomes. */
  start(alert: Alert, actions: AlertAction[]): ActionOutcome[] {
    return actions.map((action, index) => {
      switch (action.type) {
        case 'notify':
          this.ctx.events.emit('monitoring.alert', { alert })
          return { type: 'notify', status: 'done', detail: 'shown in the app' }
        case 'webhook':
          this.track(this.deliverWebhook(alert, action.url, action.maxAttempts, index))
          return { type: 'webhook', status: 'pending', detail: `POST ${action.url}` }
        case 'retrain':
          this.track(this.retrain(alert, action, index))
          return { type: 'retrain', status: 'pending', detail: 'training a new version' }
        case 'run-pipeline':
          this.track(runPipelineAction(this.ctx, alert, action, (outcome) => this.record(alert.id, index, outcome)))
          return { type: 'run-pipeline', status: 'pending', detail: `running ${action.file}` }
      }
    })
  }

  private track(work: Promise<void>): void {
    const tracked = work.finally(() => this.pending.delete(tracked))
    this.pending.add(tracked)
  }

  /** Resolves once every background action has ended (tests, engine close). */
  async idle(): Promise<void> {
    while (this.pending.size) await Promise.allSettled([...this.pending])
  }

  async close(): Promise<void> {
    this.closed = true
    this.aborter.abort()
    // Webhooks stop at once on abort; a retrain waits on its training run, which the
    // training queue ends when the engine closes. Do not let either hold the close up.
    let timer: NodeJS.Timeout | undefined
    await Promise.race([this.idle(), new Promise<void>((resolve) => (timer = setTimeout(resolve, 3000)))])
    clearTimeout(timer)
  }

  private record(alertId: string, index: number, outcome: ActionOutcome): void {
    if (this.closed && outcome.status === 'pending') return
    try {
      const alert = setActionOutcome(this.ctx.workspace.db, alertId, index, outcome)
      this.ctx.events.emit('monitoring.alert.updated', { alert })
    } catch (error) {
      // The workspace closed under a background action: nothing left to record into.
      if (!this.closed) throw error
    }
  }

  private async deliverWebhook(alert: Alert, url: string, maxAttempts: number, index: number): Promise<void> {
    const body = JSON.stringify({ type: 'lathe.alert', alert })
    let lastError = ''
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      if (this.closed) return
      try {
        const response = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'user-agent': 'lathe-monitoring' },
          body,
          signal: AbortSignal.any([AbortSignal.timeout(5000), this.aborter.signal]),
        })
        await response.arrayBuffer()
        if (response.ok) {
          this.record(alert.id, index, { type: 'webhook', status: 'done', detail: `POST ${url}: ${response.status}`, attempts: attempt })
          return
        }
        lastError = `HTTP ${response.status}`
      } catch (error) {
        lastError = (error as Error).message
      }
      if (attempt < maxAttempts) await this.sleep(backoffMs(attempt))
    }
    this.record(alert.id, index, {
      type: 'webhook',
      status: 'failed',
      detail: `POST ${url} failed after ${maxAttempts} attempts: ${lastError}`,
      attempts: maxAttempts,
    })
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms)
      this.aborter.signal.addEventListener('abort', () => {
        clearTimeout(timer)
        resolve()
      })
    })
  }

  /**
   * The retrained version against the one it would replace, both re-evaluated on the
   * new version's test split with the task's primary metric (accuracy, rmse). Better
   * means strictly better; null when they cannot be compared (the gate decides alone).
   */
  private async improvement(model: string, candidate: number, current: number): Promise<{ better: boolean; detail: string } | null> {
    try {
      const fresh = findVersion(this.ctx, model, String(candidate)).row
      const old = findVersion(this.ctx, model, String(current)).row
      const metric = `test.${primaryMetric(fresh)}`
      const evaluation = await evaluateOnTestSplit(this.ctx, fresh, [fresh, old])
      const [mine, theirs] = evaluation.metrics.map((m) => m[metric])
      if (mine === undefined || theirs === undefined) return null
      const better = largerIsBetter(metric) ? mine > theirs : mine < theirs
      const where = `${fresh.dataset!.name}@${fresh.dataset!.version} test split, ${evaluation.rows} rows`
      return { better, detail: `v${candidate} ${metric} = ${mine.toFixed(4)} vs v${current} ${theirs.toFixed(4)} on ${where}` }
    } catch (error) {
      if (isLatheError(error)) return null
      throw error
    }
  }

  /**
   * Continuous training: the production version's run specification on a newer
   * dataset version, registered as a new version, then promoted only through the gate.
   */
  private async retrain(alert: Alert, action: Extract<AlertAction, { type: 'retrain' }>, index: number): Promise<void> {
    const alias = action.alias
    const ctx = this.ctx
    const db = ctx.workspace.db
    try {
      const current = resolveModelVersion(ctx, alert.model, alias)
      if (!current.runId) {
        this.record(alert.id, index, {
          type: 'retrain',
          status: 'skipped',
          detail: `v${current.version} was not trained by Lathe: no specification to retrain`,
        })
        return
      }
      const previousRun = getRun(db, current.runId)
      // The newest data the monitor saw: the dataset the rule names, else the labelled traffic, else a newer
      // version of the training data. Retraining on the very data the current version learned from cannot help.
      const trainedOn = `${previousRun.dataset.name}@${previousRun.dataset.version}`
      let target: string
      let source: string
      const labelled = action.dataset ? 0 : await labelledRowCount(ctx, alert.model)
      if (action.dataset) {
        target = action.dataset
        source = 'the dataset the rule names'
      } else if (action.withLabelledTraffic || labelled > 0) {
        this.record(alert.id, index, { type: 'retrain', status: 'pending', detail: 'adding labelled traffic to the training data' })
        const built = await datasetWithLabelledTraffic(ctx, previousRun, alert.model)
        target = built.ref
        source = `${trainedOn} plus ${built.addedRows} labelled rows of traffic`
      } else {
        const latest = resolveDatasetVersion(ctx, `${previousRun.dataset.name}@latest`)
        if (latest.version === previousRun.dataset.version) {
          this.record(alert.id, index, {
            type: 'retrain',
            status: 'skipped',
            detail: `no newer data: v${current.version} was trained on ${trainedOn}, the newest version, and no logged row has a label; send labels (feedback), import a newer version, or name a dataset in the rule`,
          })
          return
        }
        target = `${latest.name}@${latest.version}`
        source = `the newest version of the training data (v${current.version} learned from ${trainedOn})`
      }
      const run = await startRun(ctx, specOfRun(previousRun, { dataset: target, registerAs: null }))
      db.transaction(() =>
        appendAudit(db, {
          actor: 'lathe-monitoring',
          action: 'monitoring.retrain.start',
          entityType: 'model',
          entityId: alert.model,
          after: { runId: run.id, dataset: target, fromVersion: current.version },
          reason: `alert ${alert.id}: ${alert.message}`,
        }),
      )()
      this.record(alert.id, index, { type: 'retrain', status: 'pending', detail: `run ${run.id} on ${target}: ${source}`, runId: run.id })
      const finished = await waitForRun(ctx, run.id)
      if (finished.status !== 'finished') {
        this.record(alert.id, index, {
          type: 'retrain',
          status: 'failed',
          detail: `run ${run.id} ${finished.status}: ${finished.error ?? ''}`.trim(),
          runId: run.id,
        })
        return
      }
      const version = registerRun(ctx, run.id, alert.model)
      let promoted = false
      let detail: string
      const improvement = await this.improvement(alert.model, version.version, current.version)
      if (improvement && !improvement.better) {
        detail = `no improvement: ${improvement.detail}; ${alias} stays on v${current.version} (trained on ${target}: ${source})`
      } else {
        try {
          const result = await promote(ctx, {
            model: alert.model,
            version: version.version,
            alias,
            reason: `continuous training after alert ${alert.id}`,
            cause: alert.id,
          })
          promoted = true
          detail = `v${version.version} (trained on ${target}: ${source}) passed the gate and is now ${alias} (was v${result.previous ?? '-'})${improvement ? `; ${improvement.detail}` : ''}`
        } catch (error) {
          detail = `v${version.version} registered; the gate kept ${alias} on v${current.version}: ${(error as Error).message}`
        }
      }
      db.transaction(() =>
        appendAudit(db, {
          actor: 'lathe-monitoring',
          action: promoted
            ? 'monitoring.retrain.promoted'
            : improvement && !improvement.better
              ? 'monitoring.retrain.no_improvement'
              : 'monitoring.retrain.refused',
          entityType: 'model',
          entityId: alert.model,
          before: { version: current.version },
          after: { version: version.version, runId: run.id, alias, promoted, dataset: target, improvement },
          reason: `alert ${alert.id}`,
        }),
      )()
      this.record(alert.id, index, { type: 'retrain', status: 'done', detail, runId: run.id, version: version.version, promoted })
    } catch (error) {
      this.record(alert.id, index, { type: 'retrain', status: 'failed', detail: (error as Error).message })
    }
  }
}

/** 0.5 s, 1 s, 2 s, ... capped at 30 s. */
export function backoffMs(attempt: number): number {
  return Math.min(30_000, 500 * 2 ** (attempt - 1))
}

export function actionRunner(ctx: EngineContext): AlertActionRunner {
  return ctx.singleton('monitoring.actions', () => {
    const runner = new AlertActionRunner(ctx)
    ctx.onClose(() => runner.close())
    return runner
  })
}

export function alertById(ctx: EngineContext, id: string): Alert {
  return getAlert(ctx.workspace.db, id)
}
