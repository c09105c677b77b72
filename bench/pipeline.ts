import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'

/**
 * `npm run bench -- pipeline`: what a second `lathe pipeline run` costs when nothing
 * changed (every stage skipped: the file re-read, the CSV hashed, one cache lookup
 * per stage) against the CLI's own start on the same workspace (`lathe data list`,
 * which opens the workspace and answers one read). Each alternately, median of 5.
 */
const ROOT = path.resolve(import.meta.dirname, '..')
const BIN = path.join(ROOT, 'bin', 'lathe.mjs')

const EXAMPLE = `pipeline: weather
stages:
  raw:
    import: data/seattle-weather.csv
    rules: rules.json
  recent:
    sql: SELECT * FROM raw WHERE year(date) >= 2013
  model:
    train: {dataset: recent, target: weather, exclude: [date], model: mlp, epochs: 40, seed: 7}
    register: weather
  release:
    promote: {model: model, alias: production}
    gate: {min: {test.accuracy: 0.6}, not_worse_than: accuracy}
`

function timed(args: string[], cwd: string): number {
  const started = process.hrtime.bigint()
  const result = spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: 'utf8' })
  if (result.status !== 0) throw new Error(`lathe ${args.join(' ')} exited ${result.status}: ${result.stderr}`)
  return Number(process.hrtime.bigint() - started) / 1e9
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!

export async function run(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lathe-bench-pipeline-'))
  try {
    fs.mkdirSync(path.join(dir, 'data'))
    fs.copyFileSync(path.join(ROOT, 'resources', 'data', 'seattle-weather.csv'), path.join(dir, 'data', 'seattle-weather.csv'))
    fs.writeFileSync(path.join(dir, 'lathe.yaml'), EXAMPLE)
    const ws = path.join(dir, 'ws')
    const first = timed(['pipeline', 'run', '-w', ws], dir)
    process.stdout.write(`first run (every stage runs, 40-epoch MLP): ${first.toFixed(2)} s\n`)
    const cached: number[] = []
    const start: number[] = []
    for (let i = 0; i < 5; i++) {
      cached.push(timed(['pipeline', 'run', '-w', ws], dir))
      start.push(timed(['data', 'list', '-w', ws], dir))
    }
    const c = median(cached)
    const s = median(start)
    process.stdout.write(`second run, nothing changed (4 stages skipped): median ${c.toFixed(3)} s [${cached.map((x) => x.toFixed(2)).join(', ')}]\n`)
    process.stdout.write(`CLI start on the same workspace (lathe data list): median ${s.toFixed(3)} s [${start.map((x) => x.toFixed(2)).join(', ')}]\n`)
    process.stdout.write(`ratio cached pipeline run / CLI start: ${(c / s).toFixed(2)}x\n`)
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
}
