import type { Client } from '../session.js'
import { DEMO, demoDataFile, fmt, type DemoOptions } from './config.js'

export interface DemoData {
  source: string
  reference: string
  retrainOn: string
  rows: number
}

/** Import, validate, and derive the training table and the newer table by SQL. */
export async function prepareData(client: Client, { say }: DemoOptions): Promise<DemoData> {
  say('1. Import and validate the data')
  const imported = await client.call('data.import', { name: DEMO.source, path: demoDataFile() })
  say(
    `   ${DEMO.source}@${imported.version}: ${imported.rows} rows, ${imported.columns.length} columns ` +
      `(${imported.created ? 'new version' : 'already imported: same bytes, same version'})`,
  )
  await client.call('data.rules.set', {
    dataset: DEMO.source,
    rules: [
      { kind: 'column', column: 'date', type: 'DATE' },
      { kind: 'not_null', column: 'temp_max' },
      { kind: 'not_null', column: 'temp_min' },
      { kind: 'range', column: 'precipitation', min: 0 },
      { kind: 'allowed_values', column: 'weather', values: ['drizzle', 'rain', 'sun', 'snow', 'fog'] },
      { kind: 'row_count', min: 365 },
    ],
  })
  const source = `${DEMO.source}@${imported.version}`
  const validation = await client.call('data.validate', { dataset: source })
  say(`   validation: ${validation.status} (${validation.results.filter((r) => r.passed).length}/${validation.results.length} rules pass)`)
  const columns = `${DEMO.features.join(', ').replace('month', 'month(date) AS month')}, ${DEMO.target}`
  const reference = await client.call('data.transform', {
    name: DEMO.reference,
    sql: `SELECT ${columns} FROM ${source} WHERE year(date) <= 2013 ORDER BY date`,
  })
  const newer = await client.call('data.transform', {
    name: DEMO.retrainOn,
    sql: `SELECT ${columns} FROM ${source} WHERE year(date) <= 2014 ORDER BY date`,
  })
  say(
    `   derived by SQL, with lineage: ${DEMO.reference}@${reference.version} (${reference.rows} rows), ` +
      `${DEMO.retrainOn}@${newer.version} (${newer.rows} rows)`,
  )
  return {
    source,
    reference: `${DEMO.reference}@${reference.version}`,
    retrainOn: `${DEMO.retrainOn}@${newer.version}`,
    rows: imported.rows,
  }
}

export interface DemoModel {
  run: string
  version: number
  accuracy: number | null
}

/** Trains in the background worker, streaming epochs, and waits for auto-registration. */
export async function buildModel(client: Client, options: DemoOptions, data: DemoData): Promise<DemoModel> {
  options.say('2. Train an MLP in a background worker')
  const started = await client.call('training.start', {
    dataset: data.reference,
    target: DEMO.target,
    task: 'classification',
    modelFamily: 'mlp',
    params: { hidden: [32, 32], epochs: options.epochs, batchSize: 32, learningRate: 0.005 },
    seed: 7,
    split: { method: 'stratified', column: DEMO.target, seed: 7, train: 0.7, validation: 0.15, test: 0.15 },
    registerAs: DEMO.model,
  })
  const unsubscribe = client.subscribe(['training.progress'], (event) => {
    const p = event.payload as { runId: string; epoch: number; epochs: number; loss: number }
    if (p.runId === started.id) options.progress(`   epoch ${p.epoch}/${p.epochs}  loss ${fmt(p.loss, 4)}`)
  })
  const run = await client.call('training.runs.wait', { run: started.id }).finally(unsubscribe)
  options.progress('')
  if (run.status !== 'finished') throw new Error(`the demo's training run ${run.id} ended ${run.status}: ${run.error ?? ''}`)
  const test = run.metrics?.test as Record<string, number> | undefined
  options.say(
    `   run ${run.id}: finished on ${run.backend?.name ?? '?'} in ${run.params.epochs} epochs; ` +
      `test accuracy ${fmt(test?.accuracy)}, macro F1 ${fmt(test?.f1)}, log loss ${fmt(test?.log_loss ?? test?.logLoss)}`,
  )
  const version = await waitForRegisteredVersion(client, DEMO.model, run.id)
  options.say(`   registered as ${DEMO.model} version ${version} (immutable: ONNX with preprocessing inside, signature, metrics, lineage)`)
  return { run: run.id, version, accuracy: test?.accuracy ?? null }
}

/** Auto-registration follows the run's `finished` event; give it a moment, then register by hand. */
async function waitForRegisteredVersion(client: Client, model: string, runId: string): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const found = await client.call('registry.models.show', { model }).catch(() => null)
    const version = found?.versions.find((v) => v.runId === runId)
    if (version) return version.version
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  const registered = await client.call('registry.versions.register', { runId, name: model })
  return registered.version
}
