/**
 * `npm run bench -- serve`: Lathe's serving endpoint against the peer scoring server
 * (`bench/peers/serve_fastapi.py`: FastAPI + pandas + a fitted scikit-learn
 * pipeline, the shape of `mlflow models serve`) on the same table, the same MLP
 * (64-64, standardize + one-hot), the same payloads, measured with wrk in the same
 * run. Prints requests/s and p50/p99 for 1-row requests and 100-row batches, as
 * ratios, and Lathe's overhead over a bare onnxruntime `run()` in process.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import path from 'node:path'
import * as ort from 'onnxruntime-node'
import { Engine } from '../src-main/engine/engine.js'
import { exportOnnx } from '../src-main/engine/training/onnx-export.js'
import { seededRandom } from '../src-main/engine/training/model.js'
import type { FeatureColumn, Preprocessing } from '../src-main/engine/training/types.js'

const root = path.resolve(import.meta.dirname, '..')
const peers = path.join(root, 'bench', 'peers')
const table = path.join(root, 'node_modules', 'vega-datasets', 'data', 'penguins.json')
const target = 'Species'
/** The peer fills missing values with 0, which breaks its one-hot encoder on Sex's nulls: leave Sex out on both sides. */
const dropped = ['Sex']
const seconds = Number(process.env.BENCH_SERVE_SECONDS ?? 8)
const connections = Number(process.env.BENCH_SERVE_CONNECTIONS ?? 16)

type Row = Record<string, string | number | null>

/** The penguins table and an MLP exported by Lathe's own ONNX exporter, preprocessing inside. */
function penguinsModel(rows: Row[]) {
  const columns = Object.keys(rows[0]!).filter((c) => c !== target)
  const numeric = columns.filter((c) => rows.every((r) => r[c] === null || typeof r[c] === 'number'))
  const categorical = columns.filter((c) => !numeric.includes(c))
  const features: FeatureColumn[] = columns.map((name) => ({
    name,
    kind: numeric.includes(name) ? 'numeric' : 'categorical',
    sourceType: numeric.includes(name) ? 'DOUBLE' : 'VARCHAR',
  }))
  const stat = (c: string) => {
    const xs = rows.map((r) => r[c]).filter((v): v is number => typeof v === 'number')
    const mean = xs.reduce((a, b) => a + b, 0) / xs.length
    return { name: c, mean, std: Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length) || 1 }
  }
  const classes = [...new Set(rows.map((r) => String(r[target])))].sort()
  const preprocessing: Preprocessing = {
    numeric: numeric.map(stat),
    categorical: categorical.map((c) => ({
      name: c,
      vocabulary: [
        ...new Set(
          rows
            .map((r) => r[c])
            .filter((v) => v !== null)
            .map(String),
        ),
      ].sort(),
    })),
    classes,
    targetScale: null,
    order: [...numeric, ...categorical],
  }
  const width = numeric.length + preprocessing.categorical.reduce((n, c) => n + c.vocabulary.length + 1, 0)
  const random = seededRandom(7)
  const dense = (inputs: number, outputs: number) => ({
    inputs,
    outputs,
    kernel: Array.from({ length: inputs * outputs }, () => (random() - 0.5) * 0.4),
    bias: Array.from({ length: outputs }, () => 0),
  })
  const weights = {
    family: 'mlp' as const,
    task: 'classification' as const,
    activation: 'relu' as const,
    layers: [dense(width, 64), dense(64, 64), dense(64, classes.length)],
  }
  return { ...exportOnnx(weights, preprocessing, features, target), columns }
}

async function waitFor(url: string, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    try {
      if ((await fetch(url)).ok) return
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) throw new Error(`${what} did not come up at ${url}`)
    await new Promise((r) => setTimeout(r, 200))
  }
}

interface WrkResult {
  rps: number
  /** wrk's percentiles. wrk 4 corrects them for coordinated omission: a stall of T ms counts as if requests had kept being sent every mean interval during it, so at one connection one 5 ms stall adds ~T/interval samples, not one. */
  p50Ms: number
  p99Ms: number
  non2xx: number
  /** Per request as sent (no correction), timed in wrk's Lua hooks; only when asked for. */
  raw: { p50Ms: number; p99Ms: number; p999Ms: number; maxMs: number; n: number } | null
}

/**
 * Times each request in wrk's own Lua hooks (LuaJIT FFI clock_gettime) and appends the
 * latencies (µs) to LAT_OUT every 500 responses: the plain distribution of requests as
 * sent, beside wrk's corrected one.
 */
const perRequestLua = `local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } lathe_timespec;
int clock_gettime(int clk, lathe_timespec *ts);
]]
local ts = ffi.new("lathe_timespec")
local function now_us()
  ffi.C.clock_gettime(1, ts)
  return tonumber(ts.tv_sec) * 1000000 + tonumber(ts.tv_nsec) / 1000
end
local out = os.getenv("LAT_OUT")
local started, n, lat, req = 0, 0, {}, nil
function init(args) req = wrk.format() end
function request() started = now_us() return req end
function response(status, headers, body)
  n = n + 1
  lat[n] = now_us() - started
  if n % 500 == 0 then
    local f = io.open(out, "a")
    f:write(table.concat(lat, "\\n", n - 499, n), "\\n")
    f:close()
  end
end
`

/** wrk runs as a child process without blocking: the Lathe server under test lives in this process. */
async function wrk(url: string, bodyFile: string, clients = connections, perRequest = false): Promise<WrkResult> {
  const script = path.join(path.dirname(bodyFile), `${path.basename(bodyFile)}${perRequest ? '.timed' : ''}.lua`)
  const latOut = `${script}.out`
  fs.rmSync(latOut, { force: true })
  fs.writeFileSync(
    script,
    `wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\nlocal f = io.open("${bodyFile}", "r")\nwrk.body = f:read("*a")\nf:close()\n${perRequest ? perRequestLua : ''}`,
  )
  const child = spawn('wrk', ['-t', String(Math.min(2, clients)), '-c', String(clients), '-d', `${seconds}s`, '--latency', '-s', script, url], {
    env: { ...process.env, LAT_OUT: latOut },
  })
  let out = ''
  let err = ''
  child.stdout.on('data', (c) => (out += c))
  child.stderr.on('data', (c) => (err += c))
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve))
  if (code !== 0) throw new Error(`wrk failed: ${err}`)
  const ms = (label: string) => {
    const m = new RegExp(`${label}\\s+([\\d.]+)(us|ms|s)`).exec(out)
    if (!m) return NaN
    const v = Number(m[1])
    return m[2] === 'us' ? v / 1000 : m[2] === 's' ? v * 1000 : v
  }
  let raw: WrkResult['raw'] = null
  if (perRequest && fs.existsSync(latOut)) {
    const lat = fs
      .readFileSync(latOut, 'utf8')
      .trim()
      .split('\n')
      .map(Number)
      .sort((a, b) => a - b)
    const at = (q: number) => lat[Math.min(lat.length - 1, Math.floor(q * lat.length))]! / 1000
    raw = { p50Ms: at(0.5), p99Ms: at(0.99), p999Ms: at(0.999), maxMs: lat[lat.length - 1]! / 1000, n: lat.length }
  }
  return {
    rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? NaN),
    p50Ms: ms('50%'),
    p99Ms: ms('99%'),
    non2xx: Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0),
    raw,
  }
}

/** Median time of a bare `session.run()` on the same feeds, in process: the floor Lathe adds to. */
async function bareRunMs(bytes: Uint8Array, rows: Row[], columns: string[], signatureNumeric: Set<string>): Promise<number> {
  const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, interOpNumThreads: 1 })
  const feeds: Record<string, ort.Tensor> = {}
  for (const c of columns) {
    feeds[c] = signatureNumeric.has(c)
      ? new ort.Tensor(
          'float32',
          Float32Array.from(rows, (r) => (r[c] === null ? NaN : Number(r[c]))),
          [rows.length, 1],
        )
      : new ort.Tensor(
          'string',
          rows.map((r) => (r[c] === null ? '' : String(r[c]))),
          [rows.length, 1],
        )
  }
  for (let i = 0; i < 200; i++) await session.run(feeds)
  const times: number[] = []
  for (let i = 0; i < 2000; i++) {
    const t = performance.now()
    await session.run(feeds)
    times.push(performance.now() - t)
  }
  await session.release()
  return times.sort((a, b) => a - b)[Math.floor(times.length / 2)]!
}

const fmt = (x: number, digits = 2) => (Number.isFinite(x) ? x.toFixed(digits) : 'n/a')

export async function run(): Promise<void> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'lathe-bench-serve-'))
  const rows = (JSON.parse(fs.readFileSync(table, 'utf8')) as Row[])
    .filter((r) => r[target] !== null)
    .map((r) => Object.fromEntries(Object.entries(r).filter(([k]) => !dropped.includes(k))))
  const model = penguinsModel(rows)
  const onnxFile = path.join(work, 'penguins.onnx')
  fs.writeFileSync(onnxFile, model.bytes)

  // Lathe: the model goes through the registry and is served with logging on, as a user would run it.
  const engine = Engine.open({ workspaceDir: path.join(work, 'workspace'), holder: 'bench serve' })
  let peer: ChildProcess | null = null
  try {
    await engine.call('registry.versions.import', { file: onnxFile, name: 'penguins' })
    await engine.call('registry.promote', { model: 'penguins', version: 1, alias: 'production', force: true, reason: 'benchmark' })
    const logging = process.env.BENCH_SERVE_LOG !== 'off'
    const status = await engine.call('serving.start', { port: 0, models: [{ model: 'penguins', logging }] })
    const lathe = status.url!

    const peerPort = 17000 + Math.floor(Math.random() * 2000)
    peer = spawn(
      '/usr/bin/python3',
      [path.join(peers, 'serve_fastapi.py'), table, '--target', target, '--port', String(peerPort), '--drop', dropped.join(',')],
      { stdio: 'ignore' },
    )
    const peerUrl = `http://127.0.0.1:${peerPort}`
    await waitFor(`${peerUrl}/ping`, 'the FastAPI peer')

    const payload = (n: number) => {
      const picked = Array.from({ length: n }, (_, i) => rows[(i * 37) % rows.length]!)
      return { dataframe_split: { columns: model.columns, data: picked.map((r) => model.columns.map((c) => r[c] ?? null)) } }
    }
    // Each run starts with the prediction log written out, so one run's backlog does not load the next;
    // segments a run closes are compacted to Parquet during it (on DuckDB's threads), as in production.
    const logSettled = async () => {
      await engine.call('serving.log.drain', {})
    }
    const logCounts = async () => {
      const { log } = await engine.call('serving.status', {})
      return { written: log.writtenRows, dropped: log.droppedRows }
    }
    const logLines: string[] = []
    const numeric = new Set(model.signature.columns!.filter((c) => c.kind === 'numeric').map((c) => c.name))
    process.stdout.write(
      `penguins (${rows.length} rows, ${model.columns.length} features), MLP 64-64, wrk -c ${connections} -d ${seconds}s, logging ${logging ? 'on' : 'off'}\n`,
    )
    process.stdout.write('batch  server   req/s     p50 ms   p99 ms   non-2xx\n')
    const results: Record<string, { lathe: WrkResult; peer: WrkResult }> = {}
    for (const n of [1, 100]) {
      const bodyFile = path.join(work, `body-${n}.json`)
      fs.writeFileSync(bodyFile, JSON.stringify(payload(n)))
      // Both answer the same body: check before timing that neither refuses it.
      for (const url of [lathe, peerUrl]) {
        const check = await fetch(`${url}/invocations`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: fs.readFileSync(bodyFile) })
        if (!check.ok) throw new Error(`${url} refused the ${n}-row payload: ${await check.text()}`)
      }
      await logSettled()
      const before = await logCounts()
      const l = await wrk(`${lathe}/invocations`, bodyFile)
      await logSettled()
      const after = await logCounts()
      const p = await wrk(`${peerUrl}/invocations`, bodyFile)
      results[n] = { lathe: l, peer: p }
      if (logging)
        logLines.push(
          `  ${n}-row run: ${after.written - before.written} rows logged (${fmt((after.written - before.written) / seconds / 1000, 0)}k rows/s), ${after.dropped - before.dropped} dropped`,
        )
      for (const [name, r] of [
        ['lathe', l],
        ['fastapi', p],
      ] as const) {
        process.stdout.write(
          `${String(n).padEnd(6)} ${name.padEnd(8)} ${fmt(r.rps, 0).padStart(8)}  ${fmt(r.p50Ms).padStart(8)} ${fmt(r.p99Ms).padStart(8)}   ${r.non2xx}\n`,
        )
      }
    }
    if (logging) process.stdout.write(`\nprediction log per run:\n${logLines.join('\n')}\n`)
    process.stdout.write('\nratios (lathe vs fastapi peer, same run):\n')
    for (const n of [1, 100]) {
      const { lathe: l, peer: p } = results[n]!
      process.stdout.write(
        `  ${n}-row: throughput ${fmt(l.rps / p.rps, 1)}x, p50 ${fmt(p.p50Ms / l.p50Ms, 1)}x lower, p99 ${fmt(p.p99Ms / l.p99Ms, 1)}x lower\n`,
      )
    }

    // Latency without queueing: one client sending 1-row requests back to back.
    const single = path.join(work, 'body-1.json')
    await logSettled()
    // The server shares this process's event loop: its stalls (GC, log encoding) are the 1-row tail.
    const loopDelay = monitorEventLoopDelay({ resolution: 1 })
    loopDelay.enable()
    const quietLathe = await wrk(`${lathe}/invocations`, single, 1, true)
    loopDelay.disable()
    const quietPeer = await wrk(`${peerUrl}/invocations`, single, 1, true)
    process.stdout.write(
      `\n1-row, 1 connection: lathe ${fmt(quietLathe.rps, 0)} req/s p50 ${fmt(quietLathe.p50Ms, 3)} ms p99 ${fmt(quietLathe.p99Ms, 3)} ms; fastapi ${fmt(quietPeer.rps, 0)} req/s p50 ${fmt(quietPeer.p50Ms, 2)} ms p99 ${fmt(quietPeer.p99Ms, 2)} ms\n`,
    )
    process.stdout.write(`  (wrk's percentiles: corrected for coordinated omission, so a stall counts once per mean interval it lasts)\n`)
    for (const [name, r] of [
      ['lathe', quietLathe],
      ['fastapi', quietPeer],
    ] as const) {
      if (r.raw)
        process.stdout.write(
          `  ${name} per request as sent (${r.raw.n} timed in wrk's Lua hooks, no correction): p50 ${fmt(r.raw.p50Ms, 3)} ms p99 ${fmt(r.raw.p99Ms, 3)} ms p99.9 ${fmt(r.raw.p999Ms, 3)} ms max ${fmt(r.raw.maxMs, 2)} ms\n`,
        )
    }
    process.stdout.write(
      `event-loop delay during that run: p99 ${fmt(loopDelay.percentile(99) / 1e6)} ms, max ${fmt(loopDelay.max / 1e6)} ms (1 ms timer resolution)\n`,
    )
    const one = results[1]!.lathe
    const ratio = one.rps / results[1]!.peer.rps
    process.stdout.write(
      `target (1-row): >= 20x throughput [${fmt(ratio, 1)}x under ${connections} connections: ${ratio >= 20 ? 'met' : 'NOT met'}] and p99 < 2 ms [wrk ${fmt(quietLathe.p99Ms, 2)} ms at 1 connection (per request as sent ${fmt(quietLathe.raw?.p99Ms ?? NaN, 2)} ms), ${fmt(one.p99Ms, 2)} ms under ${connections}: ${quietLathe.p99Ms < 2 ? 'met at 1 connection' : 'NOT met'}]\n`,
    )
    process.stdout.write(
      `load average after the runs: ${os
        .loadavg()
        .map((x) => x.toFixed(2))
        .join(' ')}\n`,
    )

    await engine.call('serving.stop', {})
    if (logging) {
      const logged = await (await engine.workspace.monitor()).runAndReadAll('SELECT count(*)::BIGINT AS n FROM prediction_log')
      const { droppedRows, bytes } = (await engine.call('serving.status', {})).log
      process.stdout.write(
        `\nprediction log: ${logged.getRowObjectsJS()[0]!.n} rows in prediction_log after all runs, ${droppedRows} dropped, ${fmt(bytes / 1024 / 1024, 0)} MB of segments\n`,
      )
    }

    for (const n of [1, 100]) {
      const picked = Array.from({ length: n }, (_, i) => rows[(i * 37) % rows.length]!)
      const bare = await bareRunMs(model.bytes, picked, model.columns, numeric)
      const served = n === 1 ? quietLathe.p50Ms : results[n]!.lathe.p50Ms
      const how = n === 1 ? 'one client' : `${connections} clients`
      process.stdout.write(
        `overhead ${n}-row: bare onnxruntime run() p50 ${fmt(bare, 3)} ms in process; served p50 ${fmt(served, 3)} ms over HTTP (${how}; JSON, validation, logging, wrk's own time included) -> +${fmt(served - bare, 3)} ms\n`,
      )
    }
  } finally {
    if (peer) peer.kill('SIGTERM')
    await engine.close()
    fs.rmSync(work, { recursive: true, force: true })
  }
}
