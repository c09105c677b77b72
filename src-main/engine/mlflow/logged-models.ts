import { randomUUID } from 'node:crypto'
import type { EngineContext } from '../context.js'
import { checkArtifactPath, listFolder } from './artifacts.js'
import { requireExperiment } from './experiments.js'
import { requireRun } from './runs.js'
import { meets, parseFilter } from './search.js'
import * as store from './store.js'
import {
  checkKey,
  invalid,
  keyValues,
  missing,
  nonEmpty,
  optInt,
  optString,
  optStringList,
  pageOffset,
  pageToken,
  reqString,
  tagsToList,
  type Message,
} from './wire.js'

/**
 * MLflow 3's logged models: a model's own record and artifact folder
 * (`<exp>/models/<id>/artifacts`), created PENDING, made READY once its files are up.
 */

const loggedStatuses: Record<string, string> = {
  '0': 'LOGGED_MODEL_STATUS_UNSPECIFIED',
  '1': 'LOGGED_MODEL_PENDING',
  '2': 'LOGGED_MODEL_READY',
  '3': 'LOGGED_MODEL_UPLOAD_FAILED',
}

export const loggedModelRoot = (m: { experimentId: number; modelId: string }) => `${m.experimentId}/models/${m.modelId}/artifacts`

function loggedModelToProto(m: store.LoggedModelRow) {
  return {
    info: nonEmpty({
      model_id: m.modelId,
      experiment_id: String(m.experimentId),
      name: m.name,
      creation_timestamp_ms: m.creationMs,
      last_updated_timestamp_ms: m.lastUpdatedMs,
      artifact_uri: `mlflow-artifacts:/${loggedModelRoot(m)}`,
      status: m.status,
      creator_id: m.creatorId ?? undefined,
      model_type: m.modelType ?? undefined,
      source_run_id: m.sourceRunId ?? undefined,
      status_message: m.statusMessage ?? undefined,
      tags: tagsToList(m.tags),
    }),
    data: nonEmpty({ params: tagsToList(m.params) }),
  }
}

export function requireLoggedModel(ctx: EngineContext, id: string): store.LoggedModelRow {
  const m = store.getLoggedModel(ctx.workspace.db, id)
  if (!m) throw missing(`Logged model with ID '${id}' not found.`)
  return m
}

export const loggedModelHandlers = {
  'POST logged-models'(ctx: EngineContext, m: Message) {
    const experiment = requireExperiment(ctx, reqString(m, 'experiment_id'))
    if (experiment.lifecycleStage !== 'active') throw invalid(`The experiment ${experiment.experimentId} must be in the 'active' state.`)
    const sourceRunId = optString(m, 'source_run_id')
    if (sourceRunId) requireRun(ctx, sourceRunId)
    const now = Date.now()
    const row: store.LoggedModelRow = {
      modelId: `m-${randomUUID().replace(/-/g, '')}`,
      experimentId: experiment.experimentId,
      name: optString(m, 'name') || 'model',
      modelType: optString(m, 'model_type') ?? null,
      sourceRunId: sourceRunId ?? null,
      status: 'LOGGED_MODEL_PENDING',
      statusMessage: null,
      creatorId: null,
      creationMs: now,
      lastUpdatedMs: now,
      params: Object.fromEntries(keyValues(m, 'params').map((p) => [checkKey(p.key, 'Param'), p.value])),
      tags: Object.fromEntries(keyValues(m, 'tags').map((t) => [checkKey(t.key, 'Tag'), t.value])),
    }
    store.insertLoggedModel(ctx.workspace.db, row)
    return { model: loggedModelToProto(row) }
  },
  'GET logged-models/:id'(ctx: EngineContext, _m: Message, id: string) {
    return { model: loggedModelToProto(requireLoggedModel(ctx, id)) }
  },
  'PATCH logged-models/:id'(ctx: EngineContext, m: Message, id: string) {
    const model = requireLoggedModel(ctx, id)
    const raw = reqString(m, 'status')
    const status = loggedStatuses[raw] ?? raw
    if (status !== 'LOGGED_MODEL_READY' && status !== 'LOGGED_MODEL_UPLOAD_FAILED') {
      throw invalid(`Invalid status '${raw}' for a logged model: use LOGGED_MODEL_READY or LOGGED_MODEL_UPLOAD_FAILED`)
    }
    const next = { ...model, status, lastUpdatedMs: Date.now() }
    store.updateLoggedModel(ctx.workspace.db, next)
    return { model: loggedModelToProto(next) }
  },
  'DELETE logged-models/:id'(ctx: EngineContext, _m: Message, id: string) {
    requireLoggedModel(ctx, id)
    store.deleteLoggedModel(ctx.workspace.db, id)
    return {}
  },
  'PATCH logged-models/:id/tags'(ctx: EngineContext, m: Message, id: string) {
    const model = requireLoggedModel(ctx, id)
    const tags = { ...model.tags }
    for (const t of keyValues(m, 'tags')) tags[checkKey(t.key, 'Tag')] = t.value
    store.updateLoggedModel(ctx.workspace.db, { ...model, tags, lastUpdatedMs: Date.now() })
    return {}
  },
  'DELETE logged-models/:id/tags/:key'(ctx: EngineContext, _m: Message, id: string, key: string) {
    const model = requireLoggedModel(ctx, id)
    if (!(key in model.tags)) throw missing(`No tag with key '${key}' on logged model ${id}`)
    const { [key]: _gone, ...tags } = model.tags
    store.updateLoggedModel(ctx.workspace.db, { ...model, tags, lastUpdatedMs: Date.now() })
    return {}
  },
  'POST logged-models/:id/params'(ctx: EngineContext, m: Message, id: string) {
    const model = requireLoggedModel(ctx, id)
    const params = { ...model.params }
    for (const p of keyValues(m, 'params')) params[checkKey(p.key, 'Param')] = p.value
    store.updateLoggedModel(ctx.workspace.db, { ...model, params, lastUpdatedMs: Date.now() })
    return {}
  },
  'GET logged-models/:id/artifacts/directories'(ctx: EngineContext, m: Message, id: string) {
    const model = requireLoggedModel(ctx, id)
    const root = loggedModelRoot(model)
    const sub = checkArtifactPath(optString(m, 'artifact_directory_path') ?? '')
    const files = listFolder(ctx, sub ? `${root}/${sub}` : root, (child) => child.slice(root.length + 1))
    return nonEmpty({ root_uri: `mlflow-artifacts:/${root}`, files })
  },
  'POST logged-models/search'(ctx: EngineContext, m: Message) {
    const ids = optStringList(m, 'experiment_ids').map(Number)
    const clauses = parseFilter(optString(m, 'filter'))
    const max = optInt(m, 'max_results') ?? 50
    const rows = store.listLoggedModels(ctx.workspace.db, ids).filter((row) =>
      clauses.every((c) => {
        if (c.entity === 'tag') return meets(c, row.tags[c.key] ?? null)
        if (c.entity === 'param') return meets(c, row.params[c.key] ?? null)
        const attributes: Record<string, string | number | null> = {
          name: row.name,
          model_id: row.modelId,
          status: row.status,
          model_type: row.modelType,
          source_run_id: row.sourceRunId,
          creation_timestamp: row.creationMs,
          last_updated_timestamp: row.lastUpdatedMs,
        }
        if (!(c.key in attributes))
          throw invalid(`Invalid attribute '${c.key}' for logged models: use name, status, model_type, source_run_id, creation_timestamp`)
        return meets(c, attributes[c.key]!)
      }),
    )
    const offset = pageOffset(optString(m, 'page_token'))
    return nonEmpty({
      models: rows.slice(offset, offset + max).map(loggedModelToProto),
      next_page_token: offset + max < rows.length ? pageToken(offset + max) : undefined,
    })
  },
}
