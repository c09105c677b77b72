import fs from 'node:fs'
import path from 'node:path'
import { expect } from 'vitest'
import type { Engine } from '../../../src-main/engine/engine.js'
import type { PipelineRun } from '../../../src-main/engine/pipelines/index.js'
import { tempDir } from '../../helpers/workspace.js'

export const weatherCsv = path.resolve(import.meta.dirname, '..', '..', '..', 'resources', 'data', 'seattle-weather.csv')

/** The example of issue 16, exactly as written there. */
export const exampleYaml = `pipeline: weather
stages:
  raw:
    import: data/seattle-weather.csv     # paths are relative to this file
    rules: rules.json                    # optional; a failed rule stops the pipeline
  recent:
    sql: SELECT * FROM raw WHERE year(date) >= 2013   # earlier stages are tables
  model:
    train: {dataset: recent, target: weather, exclude: [date], model: mlp, epochs: 40, seed: 7}
    register: weather
  release:
    promote: {model: model, alias: production}
    gate: {min: {test.accuracy: 0.6}, not_worse_than: accuracy}
`

/** Rules a person would keep beside the data: temperatures within Seattle's range, every day labelled. */
export const weatherRules = [
  { kind: 'range', column: 'temp_max', min: -30, max: 50 },
  { kind: 'not_null', column: 'weather' },
]

/** A project folder: lathe.yaml, data/seattle-weather.csv copied from resources/data, optionally rules.json. */
export function weatherProject(options: { yaml?: string; rules?: boolean } = {}): { dir: string; file: string; csv: string } {
  const dir = tempDir('lathe-pipeline-')
  fs.mkdirSync(path.join(dir, 'data'))
  const csv = path.join(dir, 'data', 'seattle-weather.csv')
  fs.copyFileSync(weatherCsv, csv)
  if (options.rules) fs.writeFileSync(path.join(dir, 'rules.json'), JSON.stringify(weatherRules, null, 2))
  const file = path.join(dir, 'lathe.yaml')
  fs.writeFileSync(file, options.yaml ?? exampleYaml)
  return { dir, file, csv }
}

/** Starts a run and waits for its end, as the CLI does. */
export async function runPipeline(engine: Engine, file: string, force: string[] = []): Promise<PipelineRun> {
  let run = await engine.call('pipelines.run', { file, force })
  while (run.status === 'running') run = await engine.call('pipelines.runs.wait', { run: run.id, timeoutMs: 60_000 })
  return run
}

export function statusesOf(run: PipelineRun): Record<string, string> {
  return Object.fromEntries(run.graph.map((g) => [g.stage, run.stages.find((s) => s.stage === g.stage)?.status ?? 'not run']))
}

export function expectPassed(run: PipelineRun): void {
  expect(run.error, `run failed at ${run.failedStage}`).toBeNull()
  expect(run.status).toBe('passed')
}
