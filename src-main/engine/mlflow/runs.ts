import { createHash, randomUUID } from 'node:crypto'
import type { EngineContext } from '../context.js'
import { appendAudit } from '../workspace/index.js'
import { activeExperiment, parseExperimentId, viewType } from './experiments.js'
import { compareValues, meets, parseFilter, parseOrderBy, type Clause, type OrderBy } from './search.js'
import * as store from './store.js'
import {
  checkKey,
  checkLength,
  encodeDouble,
  invalid,
  keyValues,
  missing,
  nonEmpty,
  optInt,
  optList,
  optString,
  optStringList,
  pageOffset,
  pageToken,
  parseDouble,
  reqString,
  runIdOf,
  tagsToList,
  type KeyValue,
  type Message,
} from './wire.js'

/**
 * MLflow's runs as scripts log them: create (with the replay window), get, update,
 * search, params, metric series, tags, inputs, outputs, log-model. Each handler takes
 * the request message and returns the response message.
 */

/** A runs/create (or model-versions/create) the client replays verbatim within this window returns what it made. */
export const RUN_CREATE_REPLAY_WINDOW_MS = 10 * 60 * 1000

/** What a handler knows of the request besides its message. */
export interface RequestMeta {
  /** The client, from its User-Agent: `mlflow-python-client/3.6.0`, `node`, ... */
  client: string
}

const runStatuses = ['RUNNING', 'SCHEDULED', 'FINISHED', 'FAILED', 'KILLED'] as const
const statusByNumber: Record<string, string> = { '1': 'RUNNING', '2': 'SCHEDULED', '3': 'FINISHED', '4': 'FAILED', '5': 'KILLED' }

export function requireRun(ctx: EngineContext, runId: string): store.RunRow {
  const row = store.getRunRow(ctx.workspace.db, runId)
  if (!row) throw missing(`Run with id=${runId} not found`)
  return row
}

function activeRun(ctx: EngineContext, runId: string): store.RunRow {
  const run = requireRun(ctx, runId)
  if (run.lifecycleStage !== 'active') throw invalid(`The run ${runId} must be in the 'active' state. Current state is ${run.lifecycleStage}.`)
  return run
}

export const runArtifactRoot = (run: { experimentId: number; runId: string }) => `${run.experimentId}/${run.runId}/artifacts`

export function runInfoToProto(run: store.RunRow) {
  return nonEmpty({
    run_uuid: run.runId,
    experiment_id: String(run.experimentId),
    run_name: run.runName,
    user_id: run.userId,
    status: run.status,
    start_time: run.startTime,
    end_time: run.endTime ?? undefined,
    artifact_uri: `mlflow-artifacts:/${runArtifactRoot(run)}`,
    lifecycle_stage: run.lifecycleStage,
    run_id: run.runId,
  })
}

export function metricToProto(m: store.MetricRow, runId?: string) {
  return nonEmpty({
    key: m.key,
    value: encodeDouble(m.value, m.special),
    timestamp: m.timestamp,
    step: m.step,
    dataset_name: m.datasetName || undefined,
    dataset_digest: m.datasetDigest || undefined,
    model_id: m.modelId || undefined,
    run_id: runId,
  })
}

export function runToProto(ctx: EngineContext, run: store.RunRow) {
  const db = ctx.workspace.db
  const data = nonEmpty({
    metrics: store.latestMetrics(db, run.runId).map((m) => metricToProto(m)),
    params: tagsToList(store.getParams(db, run.runId)),
    tags: tagsToList(store.getTags(db, run.runId)),
  })
  const inputs = nonEmpty({ dataset_inputs: run.inputs, model_inputs: run.modelInputs })
  const proto: Record<string, unknown> = { info: runInfoToProto(run), data, inputs }
  if (run.outputs.length) proto.outputs = { model_outputs: run.outputs }
  return proto
}

const adjectives = ['bald', 'brave', 'calm', 'clever', 'eager', 'gentle', 'honest', 'jolly', 'kind', 'lively', 'merry', 'quiet', 'swift', 'wise']
const nouns = ['cat', 'owl', 'fox', 'lark', 'hare', 'wren', 'moth', 'crab', 'yak', 'eel', 'ant', 'bee', 'doe', 'elk']
const pick = (list: string[]) => list[Math.floor(Math.random() * list.length)]!

function parseStatus(v: string): string {
  const s = statusByNumber[v] ?? v
  if (!(runStatuses as readonly string[]).includes(s)) throw invalid(`Invalid run status '${v}': use one of ${runStatuses.join(', ')}`)
  return s
}

export const runHandlers = {
  'runs/create'(ctx: EngineContext, m: Message, meta: RequestMeta) {
    const db = ctx.workspace.db
    const experimentId = optString(m, 'experiment_id') ?? '0'
    const tags = keyValues(m, 'tags').map((t) => ({ key: checkKey(t.key, 'Tag'), value: checkLength(t.value, 8000, 'Tag value') }))
    const tagMap = Object.fromEntries(tags.map((t) => [t.key, t.value]))
    const requested = optString(m, 'run_name')
    if (requested && tagMap['mlflow.runName'] && tagMap['mlflow.runName'] !== requested) {
      throw invalid(
        `Both 'run_name' argument and 'mlflow.runName' tag are specified, but with different values (run_name='${requested}', mlflow.runName='${tagMap['mlflow.runName']}').`,
      )
    }
    const startTime = optInt(m, 'start_time') ?? Date.now()
    const requestSha256 = createHash('sha256').update(JSON.stringify(m)).digest('hex')
    const now = Date.now()
    const runId = db
      .transaction(() => {
        const replayed = store.findReplayedRun(db, requestSha256, now - RUN_CREATE_REPLAY_WINDOW_MS)
        if (replayed) return replayed
        activeExperiment(ctx, experimentId)
        const runId = randomUUID().replace(/-/g, '')
        const runName = requested || tagMap['mlflow.runName'] || `${pick(adjectives)}-${pick(nouns)}-${Math.floor(Math.random() * 1000)}`
        store.insertRunRow(db, {
          runId,
          experimentId: Number(experimentId),
          runName,
          userId: optString(m, 'user_id') || tagMap['mlflow.user'] || 'unknown',
          status: 'RUNNING',
          startTime,
          endTime: null,
          lifecycleStage: 'active',
          client: meta.client,
          sourceName: tagMap['mlflow.source.name'] ?? null,
          sourceType: tagMap['mlflow.source.type'] ?? null,
          requestSha256,
          createdMs: now,
        })
        for (const t of tags) store.setTag(db, runId, t.key, t.value)
        if (!tagMap['mlflow.runName']) store.setTag(db, runId, 'mlflow.runName', runName)
        appendAudit(db, { actor: ctx.actor, action: 'mlflow.run.create', entityType: 'mlflow_run', entityId: runId, after: { experimentId, runName } })
        return runId
      })
      .immediate()
    return { run: runToProto(ctx, requireRun(ctx, runId)) }
  },
  'runs/get'(ctx: EngineContext, m: Message) {
    return { run: runToProto(ctx, requireRun(ctx, runIdOf(m))) }
  },
  'runs/update'(ctx: EngineContext, m: Message) {
    const db = ctx.workspace.db
    const run = activeRun(ctx, runIdOf(m))
    const status = optString(m, 'status')
    const endTime = optInt(m, 'end_time')
    const runName = optString(m, 'run_name')
    db.transaction(() => {
      store.updateRunRow(db, run.runId, {
        status: status ? parseStatus(status) : run.status,
        endTime: endTime ?? run.endTime,
        runName: runName || run.runName,
      })
      if (runName) store.setTag(db, run.runId, 'mlflow.runName', runName)
    }).immediate()
    return { run_info: runInfoToProto(requireRun(ctx, run.runId)) }
  },
  'runs/delete'(ctx: EngineContext, m: Message) {
    const run = requireRun(ctx, reqString(m, 'run_id'))
    store.updateRunRow(ctx.workspace.db, run.runId, { lifecycleStage: 'deleted' })
    return {}
  },
  'runs/restore'(ctx: EngineContext, m: Message) {
    const run = requireRun(ctx, reqString(m, 'run_id'))
    store.updateRunRow(ctx.workspace.db, run.runId, { lifecycleStage: 'active' })
    return {}
  },
  'runs/log-metric'(ctx: EngineContext, m: Message) {
    const run = activeRun(ctx, runIdOf(m))
    const metric = parseMetric(m, '')
    ctx.workspace.db.transaction(() => store.insertMetrics(ctx.workspace.db, run.runId, [metric])).immediate()
    return {}
  },
  'runs/log-parameter'(ctx: EngineContext, m: Message) {
    const run = activeRun(ctx, runIdOf(m))
    const param = { key: checkKey(reqString(m, 'key'), 'Param'), value: optString(m, 'value') ?? '' }
    if (m['value'] === undefined) throw invalid("Missing value for required parameter 'value'. See the API docs for more information about request parameters.")
    ctx.workspace.db.transaction(() => logParams(ctx, run.runId, [param])).immediate()
    return {}
  },
  'runs/set-tag'(ctx: EngineContext, m: Message) {
    const run = activeRun(ctx, runIdOf(m))
    const key = checkKey(reqString(m, 'key'), 'Tag')
    if (m['value'] === undefined) throw invalid("Missing value for required parameter 'value'. See the API docs for more information about request parameters.")
    const value = checkLength(optString(m, 'value') ?? '', 8000, 'Tag value')
    ctx.workspace.db.transaction(() => setRunTag(ctx, run, key, value)).immediate()
    return {}
  },
  'runs/delete-tag'(ctx: EngineContext, m: Message) {
    const run = activeRun(ctx, reqString(m, 'run_id'))
    const key = reqString(m, 'key')
    if (!store.deleteTag(ctx.workspace.db, run.runId, key)) throw missing(`No tag with name: ${key} in run with id ${run.runId}`)
    return {}
  },
  'runs/log-batch'(ctx: EngineContext, m: Message) {
    const run = activeRun(ctx, runIdOf(m))
    const metricsIn = optList(m, 'metrics')
    const paramsIn = keyValues(m, 'params')
    const tagsIn = keyValues(m, 'tags')
    if (metricsIn.length > 1000) throw invalid(`A batch logging request can contain at most 1000 metrics. Got ${metricsIn.length} metrics.`)
    if (paramsIn.length > 100) throw invalid(`A batch logging request can contain at most 100 params. Got ${paramsIn.length} params.`)
    if (tagsIn.length > 100) throw invalid(`A batch logging request can contain at most 100 tags. Got ${tagsIn.length} tags.`)
    if (metricsIn.length + paramsIn.length + tagsIn.length > 1000) {
      throw invalid(
        `A batch logging request can contain at most 1000 metrics, params and tags in total. Got ${metricsIn.length + paramsIn.length + tagsIn.length}.`,
      )
    }
    const metrics = metricsIn.map((item, i) => {
      if (!item || typeof item !== 'object') throw invalid(`Invalid value for parameter 'metrics[${i}]': expected a Metric object`)
      return parseMetric(item as Message, `metrics[${i}].`)
    })
    const params = paramsIn.map((p) => ({ key: checkKey(p.key, 'Param'), value: p.value }))
    const tags = tagsIn.map((t) => ({ key: checkKey(t.key, 'Tag'), value: checkLength(t.value, 8000, 'Tag value') }))
    const db = ctx.workspace.db
    db.transaction(() => {
      logParams(ctx, run.runId, params)
      store.insertMetrics(db, run.runId, metrics)
      for (const t of tags) setRunTag(ctx, run, t.key, t.value)
    }).immediate()
    return {}
  },
  'runs/log-inputs'(ctx: EngineContext, m: Message) {
    const run = activeRun(ctx, reqString(m, 'run_id'))
    const datasets = optList(m, 'datasets').map((d, i) => {
      const input = d as Message
      const dataset = input?.dataset as Message | undefined
      if (!dataset || typeof dataset !== 'object')
        throw invalid(`Invalid value for parameter 'datasets[${i}]': expected {tags, dataset{name, digest, source_type, source}}`)
      for (const field of ['name', 'digest', 'source_type', 'source']) reqString(dataset, field)
      return nonEmpty({ tags: keyValues(input, 'tags'), dataset })
    })
    const models = optList(m, 'models').map((x, i) => {
      const id = optString((x ?? {}) as Message, 'model_id')
      if (!id) throw invalid(`Missing value for required parameter 'models[${i}].model_id'`)
      return { model_id: id }
    })
    const key = (d: unknown) => JSON.stringify(d)
    const seen = new Set(run.inputs.map(key))
    const seenModels = new Set(run.modelInputs.map((x) => x.model_id))
    store.updateRunRow(ctx.workspace.db, run.runId, {
      inputs: [...run.inputs, ...datasets.filter((d) => !seen.has(key(d)))],
      modelInputs: [...run.modelInputs, ...models.filter((x) => !seenModels.has(x.model_id))],
    })
    return {}
  },
  'runs/outputs'(ctx: EngineContext, m: Message) {
    const run = activeRun(ctx, reqString(m, 'run_id'))
    const models = optList(m, 'models')
    if (models.length === 0) throw invalid("Missing value for required parameter 'models'. See the API docs for more information about request parameters.")
    const outputs = models.map((x, i) => {
      const id = optString((x ?? {}) as Message, 'model_id')
      if (!id) throw invalid(`Missing value for required parameter 'models[${i}].model_id'`)
      return { model_id: id, step: optInt(x as Message, 'step') ?? 0 }
    })
    const seen = new Set(run.outputs.map((o) => `${o.model_id}@${o.step}`))
    store.updateRunRow(ctx.workspace.db, run.runId, { outputs: [...run.outputs, ...outputs.filter((o) => !seen.has(`${o.model_id}@${o.step}`))] })
    return {}
  },
  'runs/log-model'(ctx: EngineContext, m: Message) {
    const run = activeRun(ctx, runIdOf(m))
    const text = reqString(m, 'model_json')
    let model: Record<string, unknown>
    try {
      model = JSON.parse(text) as Record<string, unknown>
    } catch (error) {
      throw invalid(`model_json is not JSON: ${(error as Error).message}`)
    }
    if (!model || typeof model !== 'object') throw invalid('model_json must be a JSON object')
    for (const key of ['artifact_path', 'flavors', 'utc_time_created', 'run_id']) {
      if (model[key] === undefined) throw invalid(`Model json is missing mandatory fields: ['${key}']`)
    }
    const db = ctx.workspace.db
    db.transaction(() => {
      const history = JSON.parse(store.getTags(db, run.runId)['mlflow.log-model.history'] ?? '[]') as unknown[]
      // A replayed log-model (the client retries it) must not add the same entry twice.
      if (!history.some((h) => JSON.stringify(h) === JSON.stringify(model))) history.push(model)
      store.setTag(db, run.runId, 'mlflow.log-model.history', JSON.stringify(history))
    }).immediate()
    return {}
  },
  'metrics/get-history'(ctx: EngineContext, m: Message) {
    const run = requireRun(ctx, runIdOf(m))
    const key = reqString(m, 'metric_key')
    const max = optInt(m, 'max_results')
    if (max !== undefined && (max < 1 || max > 1_000_000)) throw invalid(`Invalid value ${max} for parameter 'max_results': it must be between 1 and 1000000`)
    const offset = pageOffset(optString(m, 'page_token'))
    const limit = max ?? 1_000_000_000
    const rows = store.metricHistory(ctx.workspace.db, run.runId, key, offset, limit + 1)
    const page = rows.slice(0, limit)
    return nonEmpty({ metrics: page.map((r) => metricToProto(r)), next_page_token: rows.length > limit ? pageToken(offset + limit) : undefined })
  },
  'runs/search'(ctx: EngineContext, m: Message) {
    const ids = optStringList(m, 'experiment_ids').map((id) => parseExperimentId(id, 'experiment_ids'))
    const view = viewType(optString(m, 'run_view_type'))
    const clauses = parseFilter(optString(m, 'filter'))
    const order = parseOrderBy(optStringList(m, 'order_by'))
    const max = optInt(m, 'max_results') ?? 1000
    if (max < 1 || max > 50_000) throw invalid(`Invalid value ${max} for parameter 'max_results': it must be between 1 and 50000`)
    const runs = searchRuns(ctx, ids, view, clauses, order)
    const offset = pageOffset(optString(m, 'page_token'))
    const page = runs.slice(offset, offset + max)
    return nonEmpty({ runs: page.map((r) => runToProto(ctx, r)), next_page_token: offset + max < runs.length ? pageToken(offset + max) : undefined })
  },
}

function parseMetric(m: Message, prefix: string): store.MetricRow {
  const key = checkKey(reqString(m, 'key'), 'Metric')
  const { value, special } = parseDouble(m['value'], `${prefix}value`)
  const timestamp = optInt(m, 'timestamp')
  if (timestamp === undefined)
    throw invalid(`Missing value for required parameter '${prefix}timestamp'. See the API docs for more information about request parameters.`)
  return {
    key,
    value,
    special,
    timestamp,
    step: optInt(m, 'step') ?? 0,
    modelId: optString(m, 'model_id') ?? '',
    datasetName: optString(m, 'dataset_name') ?? '',
    datasetDigest: optString(m, 'dataset_digest') ?? '',
  }
}

/** Params are write-once: the same value again is a no-op (a retry), another value is refused. */
function logParams(ctx: EngineContext, runId: string, params: KeyValue[]): void {
  const db = ctx.workspace.db
  const batch = new Map<string, string>()
  for (const p of params) {
    checkLength(p.value, 6000, `Param value '${p.value.slice(0, 20)}...'`)
    const earlier = batch.get(p.key) ?? store.getParam(db, runId, p.key)
    if (earlier !== null && earlier !== undefined && earlier !== p.value) {
      throw invalid(
        `Changing param values is not allowed. Param with key='${p.key}' was already logged with value='${earlier}' for run ID='${runId}'. Attempted logging new value '${p.value}'.`,
      )
    }
    batch.set(p.key, p.value)
    store.insertParam(db, runId, p.key, p.value)
  }
}

function setRunTag(ctx: EngineContext, run: store.RunRow, key: string, value: string): void {
  const db = ctx.workspace.db
  store.setTag(db, run.runId, key, value)
  // The system tags MLflow's server mirrors onto the run's own fields.
  if (key === 'mlflow.runName') store.updateRunRow(db, run.runId, { runName: value })
  if (key === 'mlflow.user') store.updateRunRow(db, run.runId, { userId: value })
  if (key === 'mlflow.source.name') store.updateRunRow(db, run.runId, { sourceName: value })
  if (key === 'mlflow.source.type') store.updateRunRow(db, run.runId, { sourceType: value })
}

function runAttribute(run: store.RunRow, key: string): string | number | null {
  switch (key) {
    case 'run_id':
    case 'run_uuid':
      return run.runId
    case 'run_name':
      return run.runName
    case 'status':
      return run.status
    case 'user_id':
      return run.userId
    case 'start_time':
      return run.startTime
    case 'end_time':
      return run.endTime
    case 'artifact_uri':
      return `mlflow-artifacts:/${runArtifactRoot(run)}`
    case 'lifecycle_stage':
      return run.lifecycleStage
    case 'experiment_id':
      return String(run.experimentId)
  }
  throw invalid(
    `Invalid attribute key '${key}' specified. Valid keys are run_id, run_name, status, user_id, start_time, end_time, artifact_uri, lifecycle_stage`,
  )
}

export function searchRuns(
  ctx: EngineContext,
  experimentIds: number[] | null,
  view: Array<'active' | 'deleted'>,
  clauses: Clause[],
  order: OrderBy[],
): store.RunRow[] {
  const db = ctx.workspace.db
  const cache = new Map<string, { metrics: Record<string, number | null>; params: Record<string, string>; tags: Record<string, string> }>()
  const facts = (run: store.RunRow) => {
    let f = cache.get(run.runId)
    if (!f) {
      const metrics: Record<string, number | null> = {}
      for (const m of store.latestMetrics(db, run.runId))
        metrics[m.key] = m.special === 'NaN' ? NaN : m.special === 'Infinity' ? Infinity : m.special === '-Infinity' ? -Infinity : m.value
      f = { metrics, params: store.getParams(db, run.runId), tags: store.getTags(db, run.runId) }
      cache.set(run.runId, f)
    }
    return f
  }
  const valueOf = (run: store.RunRow, entity: Clause['entity'], key: string): string | number | null => {
    if (entity === 'attribute') return runAttribute(run, key)
    const f = facts(run)
    if (entity === 'metric') return f.metrics[key] ?? null
    if (entity === 'param') return f.params[key] ?? null
    return f.tags[key] ?? null
  }
  const runs = store
    .listRunRows(db, experimentIds)
    .filter((r) => view.includes(r.lifecycleStage))
    .filter((r) => clauses.every((c) => meets(c, valueOf(r, c.entity, c.key))))
  runs.sort((a, b) => {
    for (const o of order) {
      const d = compareValues(valueOf(a, o.entity, o.key), valueOf(b, o.entity, o.key))
      if (d) return o.ascending ? d : -d
    }
    return b.startTime - a.startTime || b.seq - a.seq
  })
  return runs
}
