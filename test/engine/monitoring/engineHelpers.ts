import path from 'node:path'
import { expect } from 'vitest'
import type { Engine } from '../../../src-main/engine/engine.js'
import { logPredictions, type LoggedRow } from './logHelpers.js'

export const weatherCsv = path.resolve('node_modules/vega-datasets/data/seattle-weather.csv')

export const weatherFeatures = ['precipitation', 'temp_max', 'temp_min', 'wind']

/** A real model: seattle-weather imported, a linear classifier trained, registered and promoted. */
export async function trainWeatherModel(engine: Engine, name = 'weather'): Promise<{ runId: string }> {
  await engine.call('registry.models.list', {})
  await engine.call('data.import', { name: 'weather', path: weatherCsv })
  const started = await engine.call('training.start', {
    dataset: 'weather@1',
    target: 'weather',
    features: weatherFeatures,
    modelFamily: 'linear',
    params: { epochs: 8, learningRate: 0.05, batchSize: 64 },
    seed: 3,
    registerAs: name,
  })
  const run = await engine.call('training.runs.wait', { run: started.id, timeoutMs: 240_000 })
  expect(run.status).toBe('finished')
  // Auto-registration listens for the finished run; wait until the version exists.
  for (let i = 0; i < 100; i++) {
    const models = await engine.call('registry.models.list', {})
    if (models.some((m) => m.name === name)) break
    await new Promise((r) => setTimeout(r, 50))
  }
  await engine.call('registry.promote', { model: name, version: 1, alias: 'production' })
  return { runId: run.id }
}

/** seattle-weather days as logged traffic; `shiftTemp` moves both temperatures (drift of known size). */
export async function replayWeatherDays(
  engine: Engine,
  options: { model?: string; year: number; shiftTemp: number; prefix: string; limit?: number },
): Promise<LoggedRow[]> {
  const conn = await engine.workspace.monitor()
  const reader = await conn.runAndReadAll(
    `SELECT precipitation, temp_max, temp_min, wind, weather FROM read_csv('${weatherCsv}') WHERE year(date) = ${options.year} ORDER BY date LIMIT ${options.limit ?? 400}`,
  )
  const rows = reader.getRowObjectsJS() as Array<Record<string, number | string>>
  const logged: LoggedRow[] = rows.map((r, i) => ({
    request_id: `${options.prefix}-${i}`,
    model: options.model ?? 'weather',
    version: 1,
    latency_ms: 1 + (i % 7),
    inputs: {
      precipitation: r.precipitation,
      temp_max: Number(r.temp_max) + options.shiftTemp,
      temp_min: Number(r.temp_min) + options.shiftTemp,
      wind: r.wind,
    },
    // What the model would say does not matter for input drift; the true label is the feedback.
    prediction: r.weather,
    probabilities: null,
  }))
  await logPredictions(engine, logged)
  return logged.map((l, i) => ({ ...l, label: rows[i]!.weather }) as LoggedRow & { label: string })
}
