import { createRequire } from 'node:module'
import os from 'node:os'
import v8 from 'node:v8'
import vm from 'node:vm'
import { Worker } from 'node:worker_threads'
import { areaKernel } from './area.js'
import { gridKernels, minorCollector, type KernelJob, type KernelResult } from './kernels.js'
import { parquetDecoder, type ParquetPlan } from './parquet.js'

/**
 * Where the one-pass report's per-value loops run. The main thread streams DuckDB's
 * result and copies each column's values into runs; a sink takes a set of runs (one per
 * column) and counts them: in the main thread (`inlineSink`), or in worker threads
 * (`KernelPool`), each column always in the same worker, in the rows' order, so both
 * give the same bits. On two cores the counting (about 11 ns a value) then overlaps
 * DuckDB's decoding and the copying instead of following them.
 */
export interface ColumnSink {
  /** Takes the filled runs (one per column, the first `length` values of each) and gives back runs to fill next. */
  take(runs: Float64Array[], length: number): Float64Array[] | Promise<Float64Array[]>
  /** After the last run: each column's result, in the jobs' order. */
  finish(): Promise<KernelResult[]>
}

/** The kernels for this thread. */
export const inline = gridKernels(areaKernel())

/** Values in one set of runs (one run per column): 8M in all (64 MB), at least one vector per column, at most 256K rows. */
const BUFFERED_VALUES = 1 << 23

/** Bytes of result chunks between two minor garbage collections (see collectGarbage below). */
const CHUNK_BYTES_PER_COLLECTION = 8 << 20

export function streamOptions(columns: number): { columns: number; rows: number; chunksPerCollection: number; collectGarbage: (() => void) | null } {
  return {
    columns,
    rows: Math.max(2048, Math.min(1 << 18, Math.floor(BUFFERED_VALUES / columns / 2048) * 2048)),
    chunksPerCollection: Math.max(1, Math.floor(CHUNK_BYTES_PER_COLLECTION / (columns * 2048 * 8))),
    collectGarbage: collectGarbage(),
  }
}

/**
 * A minor garbage collection now and then while streaming: DuckDB's result chunks live in
 * native memory that V8 does not see, and are freed only when their small JavaScript
 * handles are collected. Streaming 100 columns without collecting held 7 GB of chunks
 * (most of the CPU time went on the kernel's page faults); a young-generation collection
 * every few megabytes keeps it to a few hundred MB, and the stream at about 3 ns a value
 * instead of 15. Set up on the first stream, not when the engine loads; the worker
 * program does the same in its thread.
 */
let collector: { collect: (() => void) | null } | null = null
function collectGarbage(): (() => void) | null {
  collector ??= { collect: minorCollector(v8, vm) }
  return collector.collect
}

export function inlineSink(jobs: KernelJob[]): ColumnSink {
  const states = jobs.map((job) => inline.start(job))
  return {
    take(runs, length) {
      runs.forEach((run, i) => inline.run(states[i]!, length === run.length ? run : run.subarray(0, length)))
      return runs
    },
    finish: async () => states.map((s) => inline.finish(s)),
  }
}

/** Threads a report may use: one per core, at most four, none on one core. */
export function defaultKernelThreads(): number {
  const cores = os.availableParallelism()
  return cores < 2 ? 0 : Math.min(4, cores)
}

// The worker's whole program: the kernels' own source, and a loop over messages. `__name`
// is esbuild's keep-names helper, which tsx's transform of kernels.ts may call.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads')
var __name = (target) => target
const kernels = (${gridKernels.toString()})((${areaKernel.toString()})())
const collectGarbage = (${minorCollector.toString()})(require('node:v8'), require('node:vm'))
const decoder = (${parquetDecoder.toString()})()
let states = []
let database = null
// A standalone source read here: this thread's own DuckDB (one thread, its own memory cap, spilling where the workspace's does).
async function connection() {
  if (!database) {
    const api = require(workerData.nodeApi)
    const config = { threads: '1', memory_limit: workerData.memoryLimit }
    if (workerData.tempDirectory) config.temp_directory = workerData.tempDirectory
    const instance = await api.DuckDBInstance.create(':memory:', config)
    database = { instance, connection: await instance.connect(), bindings: require(workerData.nodeBindings) }
  }
  return database
}
function send(results) {
  const transfer = results.flatMap((r) => (r.kind === 'grid' ? [r.counts.buffer, r.offsets.buffer] : r.kind === 'collect' ? [r.values.buffer] : []))
  parentPort.postMessage({ op: 'finished', results }, transfer)
}
// m.sql reads all of this thread's columns through its DuckDB; with m.plan, m.plan.columns[i] is column i's chunks
// when this thread reads it from the file itself (else null), and m.rest reads the others.
async function stream(m) {
  const results = new Array(m.jobs.length)
  const direct = m.plan ? m.jobs.flatMap((_, i) => (m.plan.columns[i] ? [i] : [])) : []
  let viaDuckDB = m.jobs.flatMap((_, i) => (direct.includes(i) ? [] : [i]))
  let sql = direct.length ? m.rest : m.sql
  if (direct.length) {
    try {
      const read = fromParquet(
        m.plan.file,
        direct.map((i) => m.plan.columns[i]),
        direct.map((i) => m.jobs[i]),
      )
      read.forEach((r, j) => (results[direct[j]] = r))
    } catch (error) {
      // A page this reader does not take after all: every column through DuckDB, from the start.
      if (!(error && String(error.message).startsWith('parquet: '))) throw error
      viaDuckDB = m.jobs.map((_, i) => i)
      sql = m.sql
    }
  }
  if (viaDuckDB.length) {
    const { connection: conn, bindings } = await connection()
    const result = await conn.stream(sql)
    const jobs = viaDuckDB.map((i) => kernels.start(m.jobs[i]))
    await kernels.stream(bindings, result.result, { ...m.options, columns: viaDuckDB.length, collectGarbage }, (runs, length) => {
      runs.forEach((run, i) => kernels.run(jobs[i], length === run.length ? run : run.subarray(0, length)))
      return runs
    })
    jobs.forEach((s, j) => (results[viaDuckDB[j]] = kernels.finish(s)))
  }
  send(results)
}
// Columns straight from the file (parquet.ts): row group by row group, each column chunk read with one read, decoded and counted.
function fromParquet(file, columns, jobList) {
  const fs = require('node:fs')
  const jobs = jobList.map((job) => kernels.start(job))
  const chunks = columns.flatMap((c) => c.chunks)
  const bytes = new Uint8Array(Math.max(1, ...chunks.map((c) => c.length)))
  const run = new Float64Array(Math.max(1, ...chunks.map((c) => c.values)))
  const fd = fs.openSync(file, 'r')
  try {
    for (let g = 0; g < columns[0].chunks.length; g++) {
      columns.forEach((column, i) => {
        const chunk = column.chunks[g]
        let got = 0
        while (got < chunk.length) {
          const n = fs.readSync(fd, bytes, got, chunk.length - got, chunk.offset + got)
          if (n === 0) throw new Error('parquet: the file ends inside a column chunk')
          got += n
        }
        try {
          decoder.decodeChunk(bytes.subarray(0, chunk.length), chunk, run, 0)
        } catch (error) {
          // Whatever stops the decoder sends the pass to DuckDB (stream() above).
          const message = error && error.message ? String(error.message) : String(error)
          throw message.startsWith('parquet: ') ? error : new Error('parquet: ' + message)
        }
        kernels.run(jobs[i], run.subarray(0, chunk.values))
      })
    }
  } finally {
    fs.closeSync(fd)
  }
  return jobs.map((s) => kernels.finish(s))
}
let queue = Promise.resolve()
parentPort.on('message', (m) => {
  if (m.op === 'stream') {
    queue = queue.then(() => stream(m)).catch((error) => parentPort.postMessage({ op: 'error', message: error && error.message ? error.message : String(error) }))
    return
  }
  try {
    if (m.op === 'start') {
      states = m.jobs.map((job) => kernels.start(job))
    } else if (m.op === 'run') {
      m.buffers.forEach((buffer, i) => kernels.run(states[i], new Float64Array(buffer, 0, m.length)))
      parentPort.postMessage({ op: 'ran', buffers: m.buffers }, m.buffers)
    } else if (m.op === 'finish') {
      const results = states.map((s) => kernels.finish(s))
      states = []
      send(results)
    }
  } catch (error) {
    states = []
    parentPort.postMessage({ op: 'error', message: error && error.message ? error.message : String(error) })
  }
})
`

type Reply = { op: 'ran'; buffers: ArrayBuffer[] } | { op: 'finished'; results: KernelResult[] } | { op: 'error'; message: string }

class KernelWorker {
  readonly worker: Worker
  private readonly waiting: Array<{ resolve: (reply: Reply) => void; reject: (error: Error) => void }> = []
  private failure: Error | null = null

  constructor(data: WorkerData) {
    this.worker = new Worker(WORKER_SOURCE, { eval: true, workerData: data })
    this.worker.on('message', (reply: Reply) => {
      if (reply.op === 'error') this.fail(new Error(reply.message))
      else this.waiting.shift()?.resolve(reply)
    })
    this.worker.on('error', (error) => this.fail(error))
    this.worker.on('exit', (code) => this.fail(new Error(`drift: a counting thread stopped (exit code ${code})`)))
  }

  private fail(error: Error): void {
    this.failure ??= error
    for (const w of this.waiting.splice(0)) w.reject(this.failure)
  }

  /** Posts a message that the worker answers; the answer, in order. A failure rejects it (handled, so an answer nobody awaits any more is no unhandled rejection). */
  ask(message: object, transfer: ArrayBuffer[] = []): Promise<Reply> {
    const answer: Promise<Reply> = this.failure
      ? Promise.reject(this.failure)
      : new Promise((resolve, reject) => {
          this.waiting.push({ resolve, reject })
          this.worker.postMessage(message, transfer)
        })
    answer.catch(() => {})
    return answer
  }

  tell(message: object, transfer: ArrayBuffer[] = []): void {
    if (!this.failure) this.worker.postMessage(message, transfer)
  }
}

interface WorkerData {
  nodeApi: string
  nodeBindings: string
  memoryLimit: string
  tempDirectory: string
}

/** The reference's collected values in jobs that finish a distance: moved to the worker, not copied (hundreds of MB). */
function handedOver(jobs: KernelJob[]): ArrayBuffer[] {
  return jobs.flatMap((job) => (job.kind === 'collect' && job.area ? [job.area.refValues.buffer as ArrayBuffer] : []))
}

/** Sets of runs per worker: one being filled, two being counted. */
const SETS_PER_WORKER = 3

/** A counting thread's DuckDB, for standalone sources: it only streams a projection, so a small cap. */
const WORKER_MEMORY_LIMIT = '256MB'

export class KernelPool {
  private constructor(private readonly workers: KernelWorker[]) {}

  /** `tempDirectory`: where the threads' DuckDBs spill (the workspace's tmp/), '' for none. */
  static open(threads: number, tempDirectory = ''): KernelPool {
    const require = createRequire(import.meta.url)
    const data: WorkerData = {
      nodeApi: require.resolve('@duckdb/node-api'),
      nodeBindings: require.resolve('@duckdb/node-bindings'),
      memoryLimit: WORKER_MEMORY_LIMIT,
      tempDirectory,
    }
    return new KernelPool(Array.from({ length: threads }, () => new KernelWorker(data)))
  }

  /** Column i of jobs in worker i mod W, always: the same split for every pass. */
  private split(count: number): number[][] {
    return this.workers.map((_, w) => Array.from({ length: count }, (_, i) => i).filter((i) => i % this.workers.length === w))
  }

  /**
   * A standalone source (its SQL reads only files) read by the threads themselves: each
   * reads the columns `plan` gives it from the Parquet file (parquet.ts) and runs
   * `select(the others)` in its own DuckDB, and counts what comes back, so decoding,
   * copying and counting all run on every core. Same rows, same order, same kernels:
   * the same bits as streaming here.
   */
  async stream(columns: string[], jobs: KernelJob[], select: (columns: string[]) => string, plan: ParquetPlan | null = null): Promise<KernelResult[]> {
    const results = new Array<KernelResult>(jobs.length)
    const owned = this.split(jobs.length)
    await Promise.all(
      this.workers.map(async (worker, w) => {
        const mine = owned[w]!
        if (mine.length === 0) return
        const its = mine.map((i) => jobs[i]!)
        const reply = await worker.ask(
          {
            op: 'stream',
            sql: select(mine.map((i) => columns[i]!)),
            plan: plan && { ...plan, columns: mine.map((i) => plan.columns[i] ?? null) },
            rest: plan ? select(mine.filter((i) => !plan.columns[i]).map((i) => columns[i]!)) : '',
            jobs: its,
            options: { ...streamOptions(mine.length), collectGarbage: undefined },
          },
          handedOver(its),
        )
        if (reply.op !== 'finished') throw new Error('drift: a counting thread answered out of turn')
        reply.results.forEach((r, j) => (results[mine[j]!] = r))
      }),
    )
    return results
  }

  sink(jobs: KernelJob[]): ColumnSink {
    const owned = this.split(jobs.length)
    const active = this.workers.flatMap((worker, w) => (owned[w]!.length ? [{ worker, columns: owned[w]! }] : []))
    for (const a of active) {
      const mine = a.columns.map((i) => jobs[i]!)
      a.worker.tell({ op: 'start', jobs: mine }, handedOver(mine))
    }
    const pending = active.map(() => [] as Array<Promise<Reply>>)
    const free = active.map(() => [] as ArrayBuffer[][])
    const sets = active.map(() => 1)
    return {
      take: async (runs, length) => {
        const size = runs[0]!.length
        const next = new Array<Float64Array>(runs.length)
        for (const [a, { worker, columns }] of active.entries()) {
          const buffers = columns.map((i) => runs[i]!.buffer as ArrayBuffer)
          pending[a]!.push(worker.ask({ op: 'run', buffers, length }, buffers))
          if (free[a]!.length === 0 && sets[a]! < SETS_PER_WORKER) {
            sets[a]!++
            free[a]!.push(columns.map(() => new ArrayBuffer(size * 8)))
          }
          while (free[a]!.length === 0) {
            const reply = await pending[a]!.shift()!
            if (reply.op === 'ran') free[a]!.push(reply.buffers)
          }
          free[a]!.pop()!.forEach((buffer, j) => (next[columns[j]!] = new Float64Array(buffer)))
        }
        return next
      },
      finish: async () => {
        const results = new Array<KernelResult>(jobs.length)
        for (const [a, { worker, columns }] of active.entries()) {
          const finished = worker.ask({ op: 'finish' })
          await Promise.all(pending[a]!.splice(0))
          const reply = await finished
          if (reply.op !== 'finished') throw new Error('drift: a counting thread answered out of turn')
          reply.results.forEach((r, j) => (results[columns[j]!] = r))
        }
        return results
      },
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.worker.terminate()))
  }
}
