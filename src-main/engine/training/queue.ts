import type { ChildProcess } from 'node:child_process'
import fs from 'node:fs/promises'
import { LatheError } from '../api/common/errors.js'
import type { EngineContext } from '../context.js'
import { getDatasetVersionById } from '../data/index.js'
import { splitSelectSql } from '../data/index.js'
import type { ResolvedDatasetVersion } from '../data/index.js'
import { appendAudit } from '../workspace/index.js'
import { forkTrainingWorker } from './launcher.js'
import type { WorkerJob, WorkerToEngine } from './protocol.js'
import { appendMetricPoints, failOrphanedRuns, getRun, insertRun, listRuns, updateRun } from './store.js'
import type { RunRecord, RunStatus } from './types.js'

const STDERR_TAIL_BYTES = 4000

interface ActiveRun {
  runId: string
  child: ChildProcess
  stderr: string
  cancelling: boolean
  outcome: 'finished' | 'failed' | null
  exited: Promise<void>
  gpu: boolean
}

/**
 * The job queue of one engine: runs wait in `queued` and start in creation order as
 * workers free up. CPU runs share `concurrency` slots (LATHE_TRAINING_CONCURRENCY,
 * default 1 on this 2-core class of machine); a run pinned to the GPU backend also
 * waits for the GPU to be free, one GPU job at a time.
 */
export class TrainingQueue {
  private readonly active = new Map<string, ActiveRun>()
  private closed = false
  readonly concurrency: number

  constructor(private readonly ctx: EngineContext) {
    this.concurrency = Math.max(1, Number(process.env.LATHE_TRAINING_CONCURRENCY) || 1)
    // Runs left `running` by an engine that died can never report again.
    for (const runId of failOrphanedRuns(ctx.workspace.db)) this.emitStatus(getRun(ctx.workspace.db, runId))
    queueMicrotask(() => this.pump())
  }

  enqueue(record: RunRecord): RunRecord {
    if (this.closed) throw new LatheError('unavailable', 'the engine is shutting down; no new runs')
    insertRun(this.ctx.workspace.db, record, this.ctx.actor)
    this.emitStatus(record)
    queueMicrotask(() => this.pump())
    return record
  }

  /** The worker's process id while a run is running (tests kill it to simulate a crash). */
  workerPid(runId: string): number | null {
    return this.active.get(runId)?.child.pid ?? null
  }

  async cancel(runId: string): Promise<RunRecord> {
    const db = this.ctx.workspace.db
    const run = getRun(db, runId)
    if (run.status === 'queued') {
      const next = updateRun(db, runId, { status: 'cancelled', finishedAt: new Date().toISOString() })
      appendAudit(db, { actor: this.ctx.actor, action: 'run.cancel', entityType: 'run', entityId: runId })
      this.emitStatus(next)
      return next
    }
    const active = this.active.get(runId)
    if (run.status !== 'running' || !active) {
      throw new LatheError('conflict', `run ${runId} is ${run.status}; only queued or running runs can be cancelled`, { field: 'run' })
    }
    active.cancelling = true
    // SIGKILL, not a polite message: a worker inside a long kernel would not read it for
    // seconds, and the worker holds nothing the engine needs to clean up but staged files.
    active.child.kill('SIGKILL')
    await active.exited
    appendAudit(db, { actor: this.ctx.actor, action: 'run.cancel', entityType: 'run', entityId: runId })
    return getRun(db, runId)
  }

  private pump(): void {
    if (this.closed) return
    const queued = listRuns(this.ctx.workspace.db, { status: 'queued' }).reverse()
    for (const run of queued) {
      if (this.active.size >= this.concurrency) return
      const gpu = run.requestedBackend === 'tfjs-node-gpu' || run.requestedBackend === 'webgpu'
      if (gpu && [...this.active.values()].some((a) => a.gpu)) continue
      this.launch(run, gpu)
    }
  }

  private launch(run: RunRecord, gpu: boolean): void {
    const db = this.ctx.workspace.db
    let version: ResolvedDatasetVersion
    try {
      version = getDatasetVersionById(this.ctx, run.dataset.versionId)
    } catch (error) {
      this.finish(run.id, 'failed', (error as Error).message)
      return
    }
    const started = updateRun(db, run.id, { status: 'running', startedAt: new Date().toISOString() })
    this.emitStatus(started)
    const job: WorkerJob = {
      runId: run.id,
      sourceSql: splitSelectSql(run.split, version.path),
      features: run.features,
      target: run.target,
      task: run.task,
      modelFamily: run.modelFamily,
      params: run.params,
      seed: run.seed,
      backend: run.requestedBackend as WorkerJob['backend'],
      stagingDir: this.ctx.workspace.tmpDir,
      appVersion: run.appVersion,
    }
    const child = forkTrainingWorker()
    let onExit!: () => void
    const active: ActiveRun = {
      runId: run.id,
      child,
      stderr: '',
      cancelling: false,
      outcome: null,
      gpu,
      exited: new Promise<void>((resolve) => (onExit = resolve)),
    }
    this.active.set(run.id, active)
    const keepTail = (chunk: Buffer) => {
      active.stderr = (active.stderr + chunk.toString('utf8')).slice(-STDERR_TAIL_BYTES)
    }
    child.stderr?.on('data', keepTail)
    child.stdout?.on('data', () => undefined)
    // Messages are handled one after another: `finished` commits files asynchronously
    // and the exit handler must see its outcome.
    let handling: Promise<void> = Promise.resolve()
    child.on('message', (message: WorkerToEngine) => {
      handling = handling
        .then(() => this.onMessage(active, message))
        .catch((error: unknown) => {
          active.outcome = 'failed'
          this.finish(run.id, 'failed', `could not record the run's result: ${(error as Error).message}`)
        })
    })
    child.on('exit', (code, signal) => {
      void handling.then(() => {
        this.active.delete(run.id)
        if (active.cancelling && active.outcome === null) {
          this.finish(run.id, 'cancelled', null)
        } else if (active.outcome === null) {
          const how = signal ? `killed by ${signal}` : `exited with code ${code}`
          const tail = active.stderr.trim()
          this.finish(run.id, 'failed', `training worker ${how}${tail ? `; stderr tail:\n${tail}` : ''}`)
        }
        onExit()
        this.pump()
      })
    })
    child.on('error', (error) => {
      active.stderr += `\n${error.message}`
    })
    child.send({ type: 'start', job })
  }

  private async onMessage(active: ActiveRun, message: WorkerToEngine): Promise<void> {
    const db = this.ctx.workspace.db
    const runId = active.runId
    if (active.cancelling) return
    switch (message.type) {
      case 'started':
        updateRun(db, runId, { backend: message.backend })
        appendMetricPoints(db, runId, 0, { load_seconds: message.loadSeconds })
        return
      case 'batch':
        this.ctx.events.emit('training.progress', {
          runId,
          epoch: message.epoch,
          epochs: message.epochs,
          batch: message.batch,
          batches: message.batches,
          loss: message.loss,
          metrics: {},
        })
        return
      case 'epoch': {
        const values: Record<string, number> = { loss: message.loss, epoch_seconds: message.epochSeconds }
        for (const [name, value] of Object.entries(message.validation)) values[`val_${name}`] = value
        appendMetricPoints(db, runId, message.epoch, values)
        updateRun(db, runId, { epochsRun: message.epoch })
        this.ctx.events.emit('training.progress', {
          runId,
          epoch: message.epoch,
          epochs: message.epochs,
          loss: message.loss,
          metrics: { ...Object.fromEntries(Object.entries(message.validation).map(([k, v]) => [`val_${k}`, v])), epoch_seconds: message.epochSeconds },
        })
        return
      }
      case 'finished': {
        const onnx = await this.ctx.workspace.objects.commit(message.onnxPath)
        const weights = await this.ctx.workspace.objects.commit(message.weightsPath)
        active.outcome = 'finished'
        const next = updateRun(db, runId, {
          status: 'finished',
          finishedAt: new Date().toISOString(),
          epochsRun: message.epochsRun,
          metrics: message.metrics,
          model: {
            onnxSha256: onnx.sha256,
            weightsSha256: weights.sha256,
            signature: message.signature,
            preprocessing: message.preprocessing,
          },
          ...(message.warnings.length ? { warnings: message.warnings } : {}),
        })
        appendAudit(db, { actor: this.ctx.actor, action: 'run.finish', entityType: 'run', entityId: runId, after: { model: onnx.sha256 } })
        this.emitStatus(next)
        return
      }
      case 'failed':
        active.outcome = 'failed'
        this.finish(runId, 'failed', message.message)
        return
    }
  }

  private finish(runId: string, status: RunStatus, error: string | null): void {
    const next = updateRun(this.ctx.workspace.db, runId, { status, error, finishedAt: new Date().toISOString() })
    this.emitStatus(next)
  }

  private emitStatus(run: RunRecord): void {
    this.ctx.events.emit('training.status', { runId: run.id, status: run.status, ...(run.error ? { error: run.error } : {}) })
  }

  /** Engine shutdown: running workers are stopped and their runs marked failed. */
  async close(): Promise<void> {
    this.closed = true
    const waits: Promise<void>[] = []
    const ids = [...this.active.keys()]
    for (const active of this.active.values()) {
      waits.push(active.exited)
      active.child.kill('SIGKILL')
      // A run whose result is already recorded keeps it; the others can never finish.
      if (active.outcome !== null) continue
      active.outcome = 'failed'
      this.finish(active.runId, 'failed', 'engine stopped')
    }
    await Promise.all(waits)
    // Staged artifacts of killed workers were never committed.
    await Promise.all(ids.flatMap((id) => ['.onnx', '.weights.json'].map((ext) => fs.rm(`${this.ctx.workspace.tmpDir}/${id}${ext}`, { force: true }))))
  }
}
