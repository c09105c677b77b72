import fs from 'node:fs'
import path from 'node:path'
import { InvalidArgumentError, type Command } from 'commander'
import type { ModelRef } from '../../engine/api/common/model-ref.js'
import { createHttpClient } from '../../engine/api/common/client.js'
import type { Contract, EventPayloads } from '../../engine/contract.js'
import { findRunningEngine } from '../../engine/workspace/index.js'
import { emit } from '../output.js'
import { common, modelRefArgument, parseNumber, parsePort, parsePositiveInt } from '../program.js'
import { loadEngineHost, withClient, workspaceDirOf, type Client, type CommonOptions } from '../session.js'

interface ServedRef {
  model: string
  selector: string
}

/** `--model M[@alias|@version]`, repeatable: the model and what to serve of it (default: production). */
function servedRef(value: string, previous: ServedRef[] = []): ServedRef[] {
  const ref = modelRefArgument(value)
  return [...previous, { model: ref.model, selector: ref.selector ?? 'production' }]
}

type ServeOptions = CommonOptions & {
  port: number
  host: string
  token?: string
  model?: ServedRef[]
  log: boolean
  batching: boolean
  maxBodyMb: number
  batchWaitMs: number
  maxBatchRows: number
  rangeMargin?: { default?: number; columns: Record<string, number> }
}

/** `--range-margin 0.2` (every column) or `--range-margin temp_max=0.5` (one column), repeatable. */
function rangeMarginOption(value: string, previous: { default?: number; columns: Record<string, number> } = { columns: {} }) {
  const eq = value.lastIndexOf('=')
  const number = Number(eq === -1 ? value : value.slice(eq + 1))
  if (!Number.isFinite(number) || number < 0 || value.slice(eq + 1).trim() === '') {
    throw new InvalidArgumentError(`"${value}" is not a fraction >= 0 (e.g. 0.1) or COLUMN=fraction`)
  }
  return eq === -1 ? { ...previous, default: number } : { ...previous, columns: { ...previous.columns, [value.slice(0, eq)]: number } }
}

type StartResult = Contract['serving.start']['output']

async function startServing(client: Client, options: ServeOptions): Promise<StartResult> {
  // No --model: the engine serves every registered model that has a production version.
  const models = options.model?.map((m, i) => ({ model: m.model, selector: m.selector, logging: options.log, default: i === 0 }))
  return client.call('serving.start', {
    port: options.port,
    host: options.host,
    token: options.token ?? null,
    maxBodyBytes: Math.round(options.maxBodyMb * 1024 * 1024),
    batching: { enabled: options.batching, maxWaitMs: options.batchWaitMs, maxBatchRows: options.maxBatchRows },
    rangeMargin: options.rangeMargin,
    models,
    logging: options.log,
  })
}

function describeStart(status: StartResult, where: string): string {
  const lines = [`Serving on ${status.url} (${where})`]
  if (status.token) {
    lines.push(`  bound to ${status.host}: every request needs "Authorization: Bearer ${status.token}"`)
  }
  if (status.deployments.length === 0) {
    lines.push('  no model is deployed: promote a version to production, or pass --model M[@alias|@version]')
  }
  for (const d of status.deployments) {
    lines.push(`  ${d.model}@${d.selector} -> v${d.version}${d.isDefault ? '  (default for /invocations)' : ''}${d.logging ? '' : '  (logging off)'}`)
    lines.push(`    POST ${status.url}/v2/models/${d.model}/infer`)
  }
  if (status.deployments.length) lines.push(`  POST ${status.url}/invocations   GET ${status.url}/metrics`)
  return lines.join('\n')
}

export function registerServingCommands(program: Command): void {
  common(program.command('serve').description('Serve models on a local endpoint (MLflow /invocations, Open Inference Protocol v2, /metrics)'))
    .option('--port <port>', 'port for the endpoint', parsePort, 7071)
    .option('--host <host>', 'address to bind; anything beyond loopback requires a bearer token', '127.0.0.1')
    .option('--token <token>', 'the bearer token to require (generated when binding beyond loopback)')
    .option('--model <M[@alias|@version]>', 'a model to serve (repeatable; default: every model with a production version)', servedRef)
    .option('--no-log', 'do not log predictions to monitor.duckdb')
    .option('--no-batching', 'run every request on its own (no micro-batching)')
    .option('--batch-wait-ms <ms>', 'longest a request waits for others to share a run (0: only those already queued)', parseNumber, 0)
    .option('--max-batch-rows <n>', 'most rows in one micro-batched run', parsePositiveInt, 256)
    .option('--max-body-mb <mb>', 'largest request body in MB', (v) => parsePositiveInt(v), 10)
    .option(
      '--range-margin <fraction|COLUMN=fraction>',
      'flag values past the training range by more than this fraction of it (default 0.1; repeatable per column)',
      rangeMarginOption,
    )
    .action(async (options: ServeOptions) => {
      const dir = workspaceDirOf(options)
      const running = findRunningEngine(dir)
      if (running) {
        // One writer per workspace: the engine that holds it runs the server.
        const client = createHttpClient<Contract, EventPayloads>({ baseUrl: running.url, token: running.token })
        const status = await startServing(client, options)
        emit(
          options.json,
          status,
          (s) => `${describeStart(s, `started by the running engine, PID ${running.pid}`)}\n  (stop it from the Serving page or with "lathe serve-stop")`,
        )
        return
      }
      const { startEngineHost, stopOnSignals } = await loadEngineHost()
      const host = await startEngineHost({ workspaceDir: dir, holder: 'lathe serve', longLived: true })
      let status: StartResult
      try {
        status = await startServing(host.engine.client(), options)
      } catch (error) {
        await host.stop()
        throw error
      }
      if (options.json) process.stdout.write(`${JSON.stringify(status)}\n`)
      else process.stdout.write(`${describeStart(status, `workspace ${host.engine.workspace.dir}`)}\n  (Ctrl-C to stop)\n`)
      stopOnSignals(host)
      await new Promise(() => {})
    })

  common(program.command('serve-stop').description('Stop the endpoint that the running engine serves')).action(async (options: CommonOptions) => {
    const status = await withClient(options, 'lathe serve-stop', (client) => client.call('serving.stop', {}))
    emit(options.json, status, () => 'the serving endpoint is stopped')
  })

  common(program.command('predict').description('Batch prediction from a CSV or JSON file, through the serving code path'))
    .argument('<model>', 'M, M@alias or M@version (default alias: production)', modelRefArgument)
    .argument('<file>', 'rows to score: .csv, .tsv, .json or .ndjson')
    .option('-o, --output <file>', 'write the predictions here (.csv or .json); default: CSV on stdout')
    .option('--probabilities', 'add one probability column per class (classifiers)')
    .action(async (ref: ModelRef, file: string, options: CommonOptions & { output?: string; probabilities?: boolean }) => {
      const result = await withClient(options, 'lathe predict', (client) =>
        client.call('serving.predict', { model: ref.model, selector: ref.selector ?? 'production', file: path.resolve(file) }),
      )
      const records = result.inputs.map((input, i) => {
        const out: Record<string, unknown> = { ...input, prediction: result.predictions[i] }
        const probabilities = result.probabilities?.[i]
        if (options.probabilities && probabilities) {
          // Imported models may not name their classes: columns are then numbered.
          probabilities.forEach((p, k) => (out[`p_${result.classes?.[k] ?? k}`] = p))
        }
        return out
      })
      const asJson = options.output ? path.extname(options.output).toLowerCase() === '.json' : options.json
      const text = asJson ? `${JSON.stringify(records, null, 2)}\n` : toCsv(records)
      if (options.output) {
        const target = path.resolve(options.output)
        const staging = `${target}.${process.pid}.tmp`
        fs.writeFileSync(staging, text)
        fs.renameSync(staging, target)
        process.stderr.write(`${result.rows} predictions from ${result.model} v${result.version} written to ${target}\n`)
      } else {
        process.stdout.write(text)
      }
    })
}

function toCsv(records: Array<Record<string, unknown>>): string {
  if (records.length === 0) return ''
  const headers = Object.keys(records[0]!)
  const cell = (v: unknown) => {
    if (v === null || v === undefined) return ''
    const s = typeof v === 'object' ? JSON.stringify(v) : String(v)
    return /[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s
  }
  return `${[headers.join(','), ...records.map((r) => headers.map((h) => cell(r[h])).join(','))].join('\n')}\n`
}
