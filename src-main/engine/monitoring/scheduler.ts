import type { EngineContext } from '../context.js'
import { runMonitor } from './monitorRun.js'
import { loggedRowCount } from './quality.js'
import { listMonitors } from './store.js'

/**
 * Runs monitors on their schedules while the engine is open: every N minutes since
 * the last run, or once N more rows have been logged. One timer ticks for all of
 * them; a monitor never runs twice at once; the engine's close stops the timer and
 * waits for a run in progress.
 */
export class MonitorScheduler {
  private timer: NodeJS.Timeout | null = null
  private running = new Map<string, Promise<unknown>>()
  private ticking: Promise<void> | null = null
  private stopped = false

  constructor(
    private readonly ctx: EngineContext,
    readonly tickMs = 5_000,
  ) {}

  start(): void {
    if (this.timer || this.stopped) return
    this.timer = setInterval(() => void this.tick(), this.tickMs)
    // A scheduler alone never keeps a CLI process alive.
    this.timer.unref()
  }

  /** Checks every enabled monitor once; `now` is injectable so tests need not wait for the clock. */
  tick(now = Date.now()): Promise<void> {
    this.ticking ??= this.checkAll(now).finally(() => {
      this.ticking = null
    })
    return this.ticking
  }

  private async checkAll(now: number): Promise<void> {
    let monitors
    try {
      monitors = listMonitors(this.ctx.workspace.db).filter((m) => m.enabled && m.spec.schedule)
    } catch {
      // The workspace is closing; the next engine picks the schedules up again.
      return
    }
    for (const monitor of monitors) {
      if (this.stopped) return
      if (this.running.has(monitor.id)) continue
      const schedule = monitor.spec.schedule!
      let due = false
      if (schedule.everyMinutes !== undefined) {
        const last = monitor.lastRunAt ? Date.parse(monitor.lastRunAt) : Date.parse(monitor.createdAt)
        due = now - last >= schedule.everyMinutes * 60_000
      }
      if (!due && schedule.everyRequests !== undefined) {
        due = (await loggedRowCount(this.ctx, monitor.model)) - monitor.lastRunRequests >= schedule.everyRequests
      }
      if (!due) continue
      const run = runMonitor(this.ctx, monitor.id)
        .catch((error: Error) => {
          this.ctx.events.emit('monitoring.report', { monitor: monitor.name, model: monitor.model, status: 'failed', reason: error.message })
        })
        .finally(() => this.running.delete(monitor.id))
      this.running.set(monitor.id, run)
      await run
    }
  }

  async stop(): Promise<void> {
    this.stopped = true
    if (this.timer) clearInterval(this.timer)
    this.timer = null
    await this.ticking
    await Promise.allSettled([...this.running.values()])
  }
}

/** The engine's scheduler, created on first use; its timer runs only once the `monitoring.scheduler` service starts it. */
export function monitorScheduler(ctx: EngineContext): MonitorScheduler {
  return ctx.singleton('monitoring.scheduler', () => {
    const scheduler = new MonitorScheduler(ctx, Number(process.env.LATHE_MONITOR_TICK_MS) || 5_000)
    ctx.onClose(() => scheduler.stop())
    return scheduler
  })
}
