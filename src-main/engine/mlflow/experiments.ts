import type { EngineContext } from '../context.js'
import { appendAudit } from '../workspace/index.js'
import { compareValues, meets, parseFilter, parseOrderBy } from './search.js'
import * as store from './store.js'
import {
  checkKey,
  checkLength,
  invalid,
  keyValues,
  missing,
  MlflowError,
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

/** MLflow's experiments on Lathe's workspace; "Default" (id 0) exists from the start. */

export function experimentToProto(e: store.ExperimentRow) {
  return nonEmpty({
    experiment_id: String(e.experimentId),
    name: e.name,
    artifact_location: `mlflow-artifacts:/${e.experimentId}`,
    lifecycle_stage: e.lifecycleStage,
    last_update_time: e.lastUpdateTime,
    creation_time: e.creationTime,
    tags: tagsToList(e.tags),
  })
}

export function parseExperimentId(value: string, field = 'experiment_id'): number {
  if (!/^\d+$/.test(value)) throw invalid(`Invalid value '${value}' for parameter '${field}': experiment ids are whole numbers`)
  return Number(value)
}

export function requireExperiment(ctx: EngineContext, id: string): store.ExperimentRow {
  const row = getExperimentOrNull(ctx, id)
  if (!row) throw missing(`No Experiment with id=${id} exists`)
  return row
}

function getExperimentOrNull(ctx: EngineContext, id: string): store.ExperimentRow | null {
  return store.getExperiment(ctx.workspace.db, parseExperimentId(id))
}

export function activeExperiment(ctx: EngineContext, id: string): store.ExperimentRow {
  const e = requireExperiment(ctx, id)
  if (e.lifecycleStage !== 'active') throw invalid(`The experiment ${id} must be in the 'active' state. Current state is ${e.lifecycleStage}.`)
  return e
}

export const experimentHandlers = {
  'experiments/create'(ctx: EngineContext, m: Message) {
    const name = checkLength(reqString(m, 'name'), 500, 'Experiment name')
    const location = optString(m, 'artifact_location')
    if (location && !location.startsWith('mlflow-artifacts:')) {
      throw invalid(
        `artifact_location '${location}' is not supported: Lathe keeps every experiment's artifacts in its own store (mlflow-artifacts:/<id>); leave artifact_location out`,
      )
    }
    const tags = Object.fromEntries(keyValues(m, 'tags').map((t) => [checkKey(t.key, 'Tag'), checkLength(t.value, 5000, 'Experiment tag value')]))
    const db = ctx.workspace.db
    const id = db
      .transaction(() => {
        if (store.getExperimentByName(db, name))
          throw new MlflowError('RESOURCE_ALREADY_EXISTS', `Experiment(name=${name}) already exists. Error: name is taken`)
        const id = store.insertExperiment(db, name, tags, Date.now())
        appendAudit(db, { actor: ctx.actor, action: 'mlflow.experiment.create', entityType: 'mlflow_experiment', entityId: String(id), after: { name } })
        return id
      })
      .immediate()
    return { experiment_id: String(id) }
  },
  'experiments/get'(ctx: EngineContext, m: Message) {
    return { experiment: experimentToProto(requireExperiment(ctx, reqString(m, 'experiment_id'))) }
  },
  'experiments/get-by-name'(ctx: EngineContext, m: Message) {
    const name = reqString(m, 'experiment_name')
    const row = store.getExperimentByName(ctx.workspace.db, name)
    if (!row) throw missing(`Could not find experiment with name '${name}'`)
    return { experiment: experimentToProto(row) }
  },
  'experiments/search'(ctx: EngineContext, m: Message) {
    const view = viewType(optString(m, 'view_type'))
    const clauses = parseFilter(optString(m, 'filter'))
    const max = optInt(m, 'max_results') ?? 1000
    if (max < 1 || max > 50_000) throw invalid(`Invalid value ${max} for parameter 'max_results': it must be between 1 and 50000`)
    let rows = store.listExperiments(ctx.workspace.db).filter((e) => view.includes(e.lifecycleStage))
    rows = rows.filter((e) => clauses.every((c) => meets(c, c.entity === 'tag' ? (e.tags[c.key] ?? null) : experimentAttribute(e, c.key))))
    const order = parseOrderBy(optStringList(m, 'order_by'))
    rows.sort((a, b) => {
      for (const o of order) {
        const d = compareValues(experimentAttribute(a, o.key), experimentAttribute(b, o.key))
        if (d) return o.ascending ? d : -d
      }
      return b.creationTime - a.creationTime || a.experimentId - b.experimentId
    })
    const offset = pageOffset(optString(m, 'page_token'))
    const page = rows.slice(offset, offset + max)
    return nonEmpty({ experiments: page.map(experimentToProto), next_page_token: offset + max < rows.length ? pageToken(offset + max) : undefined })
  },
  'experiments/delete'(ctx: EngineContext, m: Message) {
    const e = requireExperiment(ctx, reqString(m, 'experiment_id'))
    if (e.experimentId === 0) throw invalid('Cannot delete the default experiment (id 0): scripts that set no experiment log there')
    store.updateExperiment(ctx.workspace.db, e.experimentId, { lifecycleStage: 'deleted' }, Date.now())
    return {}
  },
  'experiments/restore'(ctx: EngineContext, m: Message) {
    const e = requireExperiment(ctx, reqString(m, 'experiment_id'))
    store.updateExperiment(ctx.workspace.db, e.experimentId, { lifecycleStage: 'active' }, Date.now())
    return {}
  },
  'experiments/update'(ctx: EngineContext, m: Message) {
    const e = activeExperiment(ctx, reqString(m, 'experiment_id'))
    const name = optString(m, 'new_name')
    if (name) {
      const other = store.getExperimentByName(ctx.workspace.db, name)
      if (other && other.experimentId !== e.experimentId) throw invalid(`An experiment with name '${name}' already exists`)
      store.updateExperiment(ctx.workspace.db, e.experimentId, { name: checkLength(name, 500, 'Experiment name') }, Date.now())
    }
    return {}
  },
  'experiments/set-experiment-tag'(ctx: EngineContext, m: Message) {
    const e = activeExperiment(ctx, reqString(m, 'experiment_id'))
    const key = checkKey(reqString(m, 'key'), 'Tag')
    const value = checkLength(optString(m, 'value') ?? '', 5000, 'Experiment tag value')
    store.updateExperiment(ctx.workspace.db, e.experimentId, { tags: { ...e.tags, [key]: value } }, Date.now())
    return {}
  },
  'experiments/delete-experiment-tag'(ctx: EngineContext, m: Message) {
    const e = activeExperiment(ctx, reqString(m, 'experiment_id'))
    const key = reqString(m, 'key')
    if (!(key in e.tags)) throw missing(`No tag with name: ${key} in experiment with id ${e.experimentId}`)
    const { [key]: _gone, ...rest } = e.tags
    store.updateExperiment(ctx.workspace.db, e.experimentId, { tags: rest }, Date.now())
    return {}
  },
}

function experimentAttribute(e: store.ExperimentRow, key: string): string | number | null {
  switch (key) {
    case 'name':
      return e.name
    case 'experiment_id':
      return e.experimentId
    case 'creation_time':
      return e.creationTime
    case 'last_update_time':
      return e.lastUpdateTime
    case 'lifecycle_stage':
      return e.lifecycleStage
  }
  throw invalid(`Invalid attribute key '${key}' for experiments: use name, creation_time, last_update_time or tags.<key>`)
}

export function viewType(v: string | undefined): Array<'active' | 'deleted'> {
  if (v === undefined || v === 'ACTIVE_ONLY' || v === '1') return ['active']
  if (v === 'DELETED_ONLY' || v === '2') return ['deleted']
  if (v === 'ALL' || v === '3') return ['active', 'deleted']
  throw invalid(`Invalid view_type '${v}': use ACTIVE_ONLY, DELETED_ONLY or ALL`)
}
