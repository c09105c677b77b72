import { LatheError } from '../api/common/errors.js'
import type { EngineContext } from '../context.js'
import { getSetting, setSetting } from './apply.js'
import { outboxCounts } from './outbox.js'
import { openConflicts, readConnection, runSync, type SyncProgress, type SyncReport } from './sync.js'

export type SyncState = 'disconnected' | 'paused' | 'idle' | 'syncing' | 'offline' | 'conflicts' | 'error'

/** What the status bar and the Team page show about sync, and what the `sync.state` event carries. */
export interface BackgroundState {
  state: SyncState
  /** Background sync on (the setting `sync.background`); a manual sync works either way. */
  enabled: boolean
  intervalS: number
  /** The last sync that finished (agreed or not). */
  lastSync: string | null
  lastAttempt: string | null
  /** When the next background sync is due (null: none is, e.g. not connected). */
  nextAt: string | null
  pending: number
  conflicts: number
  /** Failed attempts in a row (offline, refused); each doubles the wait, up to MAX_BACKOFF_S. */
  failures: number
  /** Why the last attempt failed or did not agree, as a sentence; null when all is well. */
  problem: string | null
  /** The phase of a sync in progress. */
  progress: SyncProgress | null
}

export const DEFAULT_INTERVAL_S = 60
export const MIN_INTERVAL_S = 10
export const MAX_INTERVAL_S = 86_400
/** The longest wait between attempts while the server cannot be reached. */
export const MAX_BACKOFF_S = 15 * 60
/** After an engine starts, the first background sync waits this long (startup stays quick). */
export const STARTUP_DELAY_S = 5

const INTERVAL_KEY = 'sync.interval_s'
const ENABLED_KEY = 'sync.background'

export interface RunOptions {
  push?: boolean
  pull?: boolean
  onProgress?: (p: SyncProgress) => void
}

/**
 * Background sync for an engine that stays up (the app, `lathe ui`, `lathe serve`), and
 * the one way any sync runs in an engine: `sync.run` (the CLI, the Team page's Sync now)
 * and the timer both go through `run`, which queues behind a sync in progress, so two
 * never run at once. The timer's tick skips while one runs; nothing waits for it (a sync
 * is network I/O plus short SQLite transactions). When the server cannot be reached the
 * wait doubles per failure (interval, 2x, 4x ... up to 15 minutes); one good sync resets it.
 */
export class BackgroundSync {
  private timer: NodeJS.Timeout | null = null
  private current: Promise<SyncReport> | null = null
  private stopped = false
  private started = false
  private nextDue: number | null = null
  private s: Omit<BackgroundState, 'enabled' | 'intervalS' | 'pending' | 'conflicts'> = {
    state: 'idle',
    lastSync: null,
    lastAttempt: null,
    nextAt: null,
    failures: 0,
    problem: null,
    progress: null,
  }

  constructor(private readonly ctx: EngineContext) {}

  /** Starts the timer (the `sync.background` service); `now` is injectable so tests need not wait for the clock. */
  start(now = Date.now()): void {
    if (this.started || this.stopped) return
    this.started = true
    this.nextDue = now + STARTUP_DELAY_S * 1000
    this.arm(now)
  }

  get running(): boolean {
    return this.current !== null
  }

  settings(): { enabled: boolean; intervalS: number } {
    const db = this.ctx.workspace.db
    const interval = Number(getSetting(db, INTERVAL_KEY) ?? DEFAULT_INTERVAL_S)
    return {
      enabled: getSetting(db, ENABLED_KEY) !== 'off',
      intervalS: Number.isFinite(interval) ? Math.min(MAX_INTERVAL_S, Math.max(MIN_INTERVAL_S, interval)) : DEFAULT_INTERVAL_S,
    }
  }

  /** Changes the interval or switches background sync on or off; the next sync is re-planned from now. */
  configure(input: { enabled?: boolean; intervalS?: number }, now = Date.now()): BackgroundState {
    const db = this.ctx.workspace.db
    if (input.intervalS !== undefined) {
      if (!Number.isInteger(input.intervalS) || input.intervalS < MIN_INTERVAL_S || input.intervalS > MAX_INTERVAL_S)
        throw new LatheError(
          'bad_request',
          `the sync interval must be a whole number of seconds from ${MIN_INTERVAL_S} to ${MAX_INTERVAL_S}, not ${input.intervalS}`,
          {
            field: 'intervalS',
          },
        )
      setSetting(db, INTERVAL_KEY, String(input.intervalS))
    }
    if (input.enabled !== undefined) setSetting(db, ENABLED_KEY, input.enabled ? 'on' : 'off')
    if (this.started && this.s.failures === 0) this.nextDue = now + this.settings().intervalS * 1000
    this.arm(now)
    return this.publish()
  }

  /** The state as the status bar shows it. */
  state(): BackgroundState {
    const db = this.ctx.workspace.db
    const counts = outboxCounts(db)
    const { enabled, intervalS } = this.settings()
    const connected = readConnection(this.ctx) !== null
    const conflicts = connected ? openConflicts(this.ctx).length : 0
    let state = this.s.state
    if (!this.current) {
      if (!connected) state = 'disconnected'
      else if (state === 'disconnected' || state === 'idle' || state === 'conflicts' || state === 'paused')
        state = conflicts > 0 ? 'conflicts' : enabled || !this.started ? 'idle' : 'paused'
    }
    return {
      ...this.s,
      state,
      enabled,
      intervalS,
      lastSync: this.s.lastSync ?? getSetting(db, 'sync.last_sync'),
      nextAt: connected && enabled && this.started && this.nextDue !== null ? new Date(this.nextDue).toISOString() : null,
      pending: (counts.pending ?? 0) + (counts.missing_ref ?? 0),
      conflicts,
    }
  }

  /**
   * Runs one sync now, after the one in progress if there is one. Rejects as `runSync`
   * does (not connected, unreachable, refused); the state says so either way.
   */
  async run(options: RunOptions = {}, now = () => Date.now()): Promise<SyncReport> {
    while (this.current) await this.current.catch(() => undefined)
    if (this.stopped) throw new LatheError('unavailable', 'the engine is shutting down')
    const job = this.attempt(options, now)
    this.current = job
    try {
      return await job
    } finally {
      this.current = null
      this.publishQuietly()
    }
  }

  /**
   * One check of the timer: starts a sync if one is due, the workspace is connected,
   * background sync is on and none is running. Resolves when that sync ends (or at once).
   */
  async tick(now = Date.now()): Promise<'ran' | 'not-due' | 'busy' | 'disconnected' | 'paused' | 'failed'> {
    if (this.stopped) return 'not-due'
    if (this.current) return 'busy'
    if (!readConnection(this.ctx)) {
      this.nextDue = now + this.settings().intervalS * 1000
      this.arm(now)
      return 'disconnected'
    }
    if (!this.settings().enabled) return 'paused'
    if (this.nextDue !== null && now < this.nextDue) {
      this.arm(now)
      return 'not-due'
    }
    try {
      await this.run({}, () => now)
      return 'ran'
    } catch {
      return 'failed'
    }
  }

  /** Plans the next background sync soon (after a connect, or a decision on a conflict). */
  soon(delayS = 1, now = Date.now()): void {
    if (!this.started) return
    this.nextDue = now + delayS * 1000
    this.arm(now)
  }

  async stop(): Promise<void> {
    this.stopped = true
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
    await this.current?.catch(() => undefined)
  }

  private async attempt(options: RunOptions, now: () => number): Promise<SyncReport> {
    this.s = { ...this.s, state: 'syncing', lastAttempt: new Date(now()).toISOString(), progress: null }
    this.publish()
    try {
      const report = await runSync(this.ctx, {
        push: options.push,
        pull: options.pull,
        onProgress: (p) => {
          this.s.progress = p
          options.onProgress?.(p)
        },
      })
      const problem = report.agreed ? null : (report.left.find((l) => !/not applied: someone moved it first/.test(l)) ?? null)
      this.s = {
        ...this.s,
        state: report.conflicts.length > 0 ? 'conflicts' : 'idle',
        lastSync: new Date(now()).toISOString(),
        failures: 0,
        problem,
        progress: null,
      }
      this.plan(now())
      return report
    } catch (error) {
      const e = error instanceof LatheError ? error : null
      if (!readConnection(this.ctx)) {
        this.s = { ...this.s, state: 'disconnected', problem: null, progress: null }
      } else {
        const offline = e?.code === 'unavailable'
        this.s = {
          ...this.s,
          state: offline ? 'offline' : 'error',
          failures: this.s.failures + 1,
          problem: (error as Error).message,
          progress: null,
        }
      }
      this.plan(now())
      throw error
    }
  }

  /** When the next background sync is due: one interval after the last, doubled per failure in a row. */
  private plan(now: number): void {
    if (!this.started) return
    const interval = this.settings().intervalS
    const wait = this.s.failures === 0 ? interval : Math.min(Math.max(interval, MAX_BACKOFF_S), interval * 2 ** Math.min(this.s.failures, 20))
    this.nextDue = now + wait * 1000
    this.arm(now)
  }

  /** One timer, set for when the next sync is due; it never keeps a process alive. */
  private arm(now: number): void {
    if (!this.started || this.stopped) return
    if (this.timer) clearTimeout(this.timer)
    const delay = Math.max(0, (this.nextDue ?? now + this.settings().intervalS * 1000) - now)
    this.timer = setTimeout(() => void this.tick(), Math.min(delay, 2 ** 31 - 1))
    this.timer.unref()
  }

  private publish(): BackgroundState {
    const state = this.state()
    this.ctx.events.emit('sync.state', state)
    return state
  }

  /** Tells listeners the state moved outside a sync (connected, disconnected). */
  changed(): void {
    this.publishQuietly()
  }

  /** After a run: the workspace may be closing under it, and then there is no one to tell. */
  private publishQuietly(): void {
    try {
      this.publish()
    } catch {
      // The database closed with the engine.
    }
  }
}

/** The engine's background sync, created on first use; its timer runs only once the `sync.background` service starts it. */
export function backgroundSync(ctx: EngineContext): BackgroundSync {
  return ctx.singleton('sync.background', () => {
    const sync = new BackgroundSync(ctx)
    ctx.onClose(() => sync.stop())
    return sync
  })
}
