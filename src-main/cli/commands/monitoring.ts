import path from 'node:path'
import { InvalidArgumentError, type Command } from 'commander'
import { LatheError } from '../../engine/api/common/errors.js'
import { formatStatistic } from '../../engine/api/common/format.js'
import { emit, ProgressLine, table } from '../output.js'
import type { ModelRef } from '../../engine/api/common/model-ref.js'
import type { Contract } from '../../engine/contract.js'
import { common, modelRefArgument, parseNumber, parsePositiveInt, selectorOf, wholeModel } from '../program.js'
import { withClient, type CommonOptions } from '../session.js'

const methods = ['ks', 'chi2', 'wasserstein', 'jensenshannon', 'psi'] as const
type Method = (typeof methods)[number]

/** `--feature NAME:METHOD[:THRESHOLD]`, repeatable. */
function featureOption(value: string, previous: Array<{ name: string; method: Method; threshold?: number }> = []) {
  const [name, method, threshold] = value.split(':')
  if (!name || !methods.includes(method as Method) || (threshold !== undefined && !Number.isFinite(Number(threshold)))) {
    throw new InvalidArgumentError(`"${value}" is not NAME:METHOD[:THRESHOLD] with METHOD one of ${methods.join(', ')}`)
  }
  return [...previous, { name, method: method as Method, ...(threshold !== undefined ? { threshold: Number(threshold) } : {}) }]
}

const opPattern = /^\s*(\S+)\s*(>=|<=|==|!=|>|<)\s*(-?[\d.eE+-]+)\s*$/

type RuleInput = Contract['monitoring.rules.add']['input']

/** `--alert "dataset_drift >= 1"`, repeatable. */
function alertOption(value: string, previous: Array<{ metric: string; op: RuleInput['op']; threshold: number }> = []) {
  const match = opPattern.exec(value)
  if (!match || !Number.isFinite(Number(match[3]))) {
    throw new InvalidArgumentError(`"${value}" is not "METRIC OP NUMBER" (e.g. "dataset_drift >= 1", "quality.accuracy < 0.8")`)
  }
  return [...previous, { metric: match[1]!, op: match[2] as RuleInput['op'], threshold: Number(match[3]) }]
}

const fmt = formatStatistic

export function registerMonitoringCommands(program: Command): void {
  common(
    program
      .command('drift')
      .argument('<model>', 'M, M@alias or M@version (default: M@production)', modelRefArgument)
      .description("Drift of a model's logged traffic (or a dataset version) against its training data"),
  )
    .option('--version <v>', 'alias or version number (the same as M@V)')
    .option('--reference <dataset>', 'NAME@VERSION to compare against (default: the training split)')
    .option('--current <dataset>', 'NAME@VERSION to check instead of logged traffic')
    .option('--last <n>', 'the last N logged rows (default 5000)', parsePositiveInt)
    .option('--since <iso>', 'logged rows from this time')
    .option('--until <iso>', 'logged rows before this time')
    .option('--feature <name:method[:threshold]>', "override a feature's method and threshold (repeatable)", featureOption)
    .option('--drift-share <x>', 'share of drifted features that makes the dataset drifted', parseNumber, 0.5)
    .option('--all-statistics', "every statistic of each feature (KS, PSI...), not only its method's and its chart's")
    .action(
      async (
        ref: ModelRef,
        options: CommonOptions & {
          version?: string
          reference?: string
          current?: string
          last?: number
          since?: string
          until?: string
          feature?: ReturnType<typeof featureOption>
          driftShare: number
          allStatistics?: boolean
        },
      ) => {
        const model = ref.model
        const version = selectorOf(ref, options.version)
        if (options.current && (options.last || options.since || options.until)) {
          throw new LatheError('bad_request', '--current compares a dataset; --last/--since/--until pick logged traffic: use one or the other', {
            field: 'current',
          })
        }
        const progress = new ProgressLine()
        const report = await withClient(options, 'lathe drift', async (client) => {
          const stop = client.subscribe(['monitoring.drift.progress'], (event) => {
            if (event.payload.model === model) progress.update(`drift of ${model}: ${event.payload.done}/${event.payload.total} (${event.payload.feature})`)
          })
          try {
            return await client.call('monitoring.drift', {
              model,
              version,
              reference: options.reference ?? null,
              current: options.current ?? null,
              last: options.last,
              since: options.since,
              until: options.until,
              features: options.feature,
              driftShareThreshold: options.driftShare,
              allStatistics: options.allStatistics ?? false,
            })
          } finally {
            stop()
            progress.done()
          }
        })
        const features = report.features.map(({ chart: _chart, reference_rows: _r, current_rows: _c, ...f }) => f)
        const json = {
          model: report.model,
          version: report.version,
          reference: { label: report.reference.label, rows: report.reference.rows },
          current: { label: report.current.label, rows: report.current.rows },
          dataset_drift: report.dataset_drift,
          drift_share: report.drift_share,
          drift_share_threshold: report.drift_share_threshold,
          features,
          prediction: report.prediction ? (({ chart: _chart, ...p }) => p)(report.prediction) : null,
          skipped: report.skipped,
          report_id: report.reportId,
        }
        emit(options.json, json, (r) =>
          [
            `${r.model} v${r.version}: reference ${r.reference.label} (${r.reference.rows} rows) vs current ${r.current.label} (${r.current.rows} rows)`,
            `dataset drift: ${r.dataset_drift ? 'YES' : 'no'} (${features.filter((f) => f.drifted).length}/${features.length} features drifted, share ${fmt(r.drift_share)}, threshold ${r.drift_share_threshold})`,
            '',
            table(
              ['feature', 'kind', 'method', 'statistic', 'p-value', 'threshold', 'drifted', 'psi'],
              [...features, ...(r.prediction ? [r.prediction] : [])].map((f) => [
                f.name,
                f.kind,
                f.method,
                fmt(f.statistic),
                fmt(f.p_value),
                f.threshold,
                f.drifted ? 'yes' : 'no',
                fmt(f.psi),
              ]),
            ),
            ...r.skipped.map((s) => `skipped ${s.name}: ${s.reason}`),
          ].join('\n'),
        )
      },
    )

  const monitor = program.command('monitor').description('Monitors: drift, quality and traffic of a model on a schedule, with alert rules')
  common(monitor.command('add').argument('<name>', 'monitor name').description('Add a monitor (and its alert rules)'))
    .requiredOption('--model <model>', 'model to watch: M, M@alias or M@version (default: M@production)', modelRefArgument)
    .option('--version <v>', 'alias or version whose traffic to watch (the same as M@V)')
    .option('--reference <dataset>', 'NAME@VERSION reference (default: the training split)')
    .option('--last <n>', 'window: the last N logged rows', parsePositiveInt)
    .option('--minutes <n>', 'window: the last N minutes', parseNumber)
    .option('--every-minutes <n>', 'run every N minutes while the engine runs', parseNumber)
    .option('--every-requests <n>', 'run after every N logged rows', parsePositiveInt)
    .option('--alert <rule>', 'alert when "METRIC OP NUMBER", e.g. "dataset_drift >= 1" (repeatable)', alertOption)
    .option('--notify', 'alerts notify in the app (the default when no other action is given)')
    .option('--webhook <url>', 'alerts POST JSON to this URL')
    .option('--retrain [dataset]', 'alerts retrain on NAME@VERSION (default: the newest version of the training dataset) and promote through the gate')
    .option('--with-labelled-traffic', 'retrain on the training data plus the labelled logged rows (imported as a new dataset version)')
    .option('--run-pipeline <file>', 'alerts re-run this lathe.yaml pipeline (its gate decides the promotion)')
    .action(
      async (
        name: string,
        options: CommonOptions & {
          model: ModelRef
          version?: string
          reference?: string
          last?: number
          minutes?: number
          everyMinutes?: number
          everyRequests?: number
          alert?: ReturnType<typeof alertOption>
          notify?: boolean
          webhook?: string
          retrain?: string | boolean
          withLabelledTraffic?: boolean
          runPipeline?: string
        },
      ) => {
        const selector = selectorOf(options.model, options.version)
        const actions: NonNullable<RuleInput['actions']> = []
        if (options.notify || (!options.webhook && !options.retrain && !options.withLabelledTraffic && !options.runPipeline)) actions.push({ type: 'notify' })
        if (options.webhook) actions.push({ type: 'webhook', url: options.webhook })
        if (options.retrain || options.withLabelledTraffic) {
          actions.push({
            type: 'retrain',
            ...(typeof options.retrain === 'string' ? { dataset: options.retrain } : {}),
            ...(options.withLabelledTraffic ? { withLabelledTraffic: true } : {}),
          })
        }
        // The engine may run in another folder: the file goes by its absolute path.
        if (options.runPipeline) actions.push({ type: 'run-pipeline', file: path.resolve(options.runPipeline) })
        const schedule = options.everyMinutes || options.everyRequests ? { everyMinutes: options.everyMinutes, everyRequests: options.everyRequests } : null
        const result = await withClient(options, 'lathe monitor', async (client) => {
          const added = await client.call('monitoring.monitors.add', {
            name,
            model: options.model.model,
            spec: {
              selector,
              reference: options.reference ?? null,
              window: options.last || options.minutes ? { last: options.last, minutes: options.minutes } : { last: 1000 },
              schedule,
            },
          })
          const rules = []
          for (const rule of options.alert ?? []) {
            rules.push(
              await client.call('monitoring.rules.add', {
                monitor: added.id,
                name: `${rule.metric} ${rule.op} ${rule.threshold}`,
                metric: rule.metric,
                op: rule.op,
                threshold: rule.threshold,
                actions,
              }),
            )
          }
          return { ...added, rules }
        })
        emit(options.json, result, (m) => `monitor ${m.name} (${m.id}) watches ${m.model}; ${m.rules.length} alert rule(s)`)
      },
    )

  common(monitor.command('list').description('Monitors and their alert rules'))
    .option('--model <model>', 'only this model', modelRefArgument)
    .action(async (options: CommonOptions & { model?: ModelRef }) => {
      const model = options.model && wholeModel(options.model, 'lathe monitor list --model')
      const list = await withClient(options, 'lathe monitor', (client) => client.call('monitoring.monitors.list', { model }))
      emit(options.json, list, (l) =>
        l.length === 0
          ? 'No monitors yet: `lathe monitor add NAME --model M --every-minutes 10 --alert "dataset_drift >= 1"`.'
          : table(
              ['monitor', 'model', 'window', 'schedule', 'rules', 'last run'],
              l.map((m) => [
                m.name,
                m.model,
                m.spec.window.last ? `last ${m.spec.window.last}` : `${m.spec.window.minutes} min`,
                m.spec.schedule
                  ? [
                      m.spec.schedule.everyMinutes && `every ${m.spec.schedule.everyMinutes} min`,
                      m.spec.schedule.everyRequests && `every ${m.spec.schedule.everyRequests} rows`,
                    ]
                      .filter(Boolean)
                      .join(', ')
                  : 'by hand',
                m.rules.map((r) => `${r.metric} ${r.op} ${r.threshold} -> ${r.actions.map((a) => a.type).join('+')}`).join('; '),
                m.lastRunAt ?? 'never',
              ]),
            ),
      )
    })

  common(monitor.command('run').argument('<monitor>', 'monitor name or id').description('Run a monitor now'))
    .option('--wait', 'wait for webhook and retrain actions to finish')
    .action(async (name: string, options: CommonOptions & { wait?: boolean }) => {
      const result = await withClient(options, 'lathe monitor', (client) =>
        client.call('monitoring.monitors.run', { monitor: name, waitForActions: Boolean(options.wait) }),
      )
      emit(options.json, result, (r) =>
        r.status === 'skipped'
          ? `${r.monitor}: skipped: ${r.reason}`
          : [
              `${r.monitor}: ${r.model} v${r.version}: dataset drift ${r.values.dataset_drift ? 'YES' : 'no'} (share ${fmt(r.values.drift_share)})${
                r.values['quality.accuracy'] !== undefined ? `, accuracy ${fmt(r.values['quality.accuracy'])}` : ''
              }`,
              ...r.alerts.map((a) => `ALERT ${a.id}: ${a.message} [${a.actions.map((x) => `${x.type}: ${x.status} ${x.detail}`).join('; ')}]`),
            ].join('\n'),
      )
    })

  const alerts = program.command('alerts').description('Alerts raised by monitors')
  common(alerts.command('list').description('Alerts, newest first'))
    .option('--model <model>', 'only this model', modelRefArgument)
    .option('--open', 'only alerts not yet acknowledged')
    .action(async (options: CommonOptions & { model?: ModelRef; open?: boolean }) => {
      const model = options.model && wholeModel(options.model, 'lathe alerts list --model')
      const list = await withClient(options, 'lathe alerts', (client) =>
        client.call('monitoring.alerts.list', { model, status: options.open ? 'open' : undefined }),
      )
      emit(options.json, list, (l) =>
        l.length === 0
          ? 'No alerts.'
          : table(
              ['alert', 'time', 'status', 'message', 'actions'],
              l.map((a) => [a.id, a.time, a.status, a.message, a.actions.map((x) => `${x.type}: ${x.status}`).join(', ')]),
            ),
      )
    })
  common(alerts.command('ack').argument('<alert>', 'alert id').description('Acknowledge an alert')).action(async (id: string, options: CommonOptions) => {
    const alert = await withClient(options, 'lathe alerts', (client) => client.call('monitoring.alerts.ack', { alert: id }))
    emit(options.json, alert, (a) => `acknowledged ${a.id} (${a.message})`)
  })

  common(
    program
      .command('feedback')
      .argument('<model>', 'registered model (labels join its logged requests by id, whatever the version)', modelRefArgument)
      .argument('<file>', 'CSV with a request id column and a label column')
      .description('Upload true labels for logged predictions (joined by request id)'),
  )
    .option('--id-column <name>', 'column holding the request id', 'request_id')
    .option('--label-column <name>', 'column holding the true label', 'label')
    .option('--row-column <name>', 'column holding the row of a batch request (default: 0)', 'row_index')
    .action(async (ref: ModelRef, file: string, options: CommonOptions & { idColumn: string; labelColumn: string; rowColumn: string }) => {
      const model = wholeModel(ref, 'lathe feedback')
      const items = await readFeedbackCsv(file, options.idColumn, options.labelColumn, options.rowColumn)
      const result = await withClient(options, 'lathe feedback', async (client) => {
        let recorded = 0
        const unknown: Array<{ request_id: string; row_index: number }> = []
        for (let i = 0; i < items.length; i += 10_000) {
          const part = await client.call('monitoring.feedback', { model, items: items.slice(i, i + 10_000) })
          recorded += part.recorded
          unknown.push(...part.unknown)
        }
        return { model, rows: items.length, recorded, unknown }
      })
      emit(options.json, result, (r) =>
        [
          `${r.recorded} of ${r.rows} labels recorded for ${r.model}`,
          ...(r.unknown.length
            ? [
                `${r.unknown.length} request id(s) not in the prediction log, not recorded: ${r.unknown
                  .slice(0, 10)
                  .map((u) => u.request_id)
                  .join(', ')}${r.unknown.length > 10 ? ', ...' : ''}`,
              ]
            : []),
        ].join('\n'),
      )
    })
}

/** Reads the CSV with DuckDB (quoting, encodings and delimiters handled), every field as text. */
async function readFeedbackCsv(file: string, idColumn: string, labelColumn: string, rowColumn: string) {
  const { quoteIdent } = await import('../../engine/data/index.js')
  const { DuckDBInstance } = await import('@duckdb/node-api')
  const instance = await DuckDBInstance.create(':memory:')
  const conn = await instance.connect()
  try {
    let columns: string[]
    try {
      const described = await conn.runAndReadAll(`DESCRIBE SELECT * FROM read_csv(?, all_varchar = true)`, [file])
      columns = described.getRowObjectsJS().map((r) => String(r.column_name))
    } catch (error) {
      throw new LatheError('bad_request', `cannot read ${file} as CSV: ${(error as Error).message.split('\n')[0]}`, { field: 'file' })
    }
    for (const [flag, column] of [
      ['--id-column', idColumn],
      ['--label-column', labelColumn],
    ] as const) {
      if (!columns.includes(column)) {
        throw new LatheError('bad_request', `${file} has no column "${column}" (its columns: ${columns.join(', ')}); name it with ${flag}`, { field: flag })
      }
    }
    const hasRow = columns.includes(rowColumn)
    const reader = await conn.runAndReadAll(
      `SELECT ${quoteIdent(idColumn)} AS id, ${quoteIdent(labelColumn)} AS label, ${hasRow ? quoteIdent(rowColumn) : "'0'"} AS row FROM read_csv(?, all_varchar = true)`,
      [file],
    )
    return reader.getRowObjectsJS().map((r, i) => {
      const row = Number(r.row ?? 0)
      if (!r.id || r.label === null || !Number.isInteger(row) || row < 0) {
        throw new LatheError('bad_request', `${file}: line ${i + 2} needs a request id, a label and a whole row number`, { field: 'file', line: i + 2 })
      }
      return { request_id: String(r.id), row_index: row, label: String(r.label) }
    })
  } finally {
    conn.closeSync()
    instance.closeSync()
  }
}
