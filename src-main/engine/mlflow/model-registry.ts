import { createHash } from 'node:crypto'
import { isLatheError } from '../api/common/errors.js'
import type { EngineContext } from '../context.js'
import { addVersion, checkModelName, promote } from '../registry/index.js'
import { appendAudit } from '../workspace/index.js'
import { checkArtifactPath } from './artifacts.js'
import { loggedModelRoot, requireLoggedModel } from './logged-models.js'
import { readModelFolder } from './onnx-model.js'
import { requireRun, runArtifactRoot, RUN_CREATE_REPLAY_WINDOW_MS } from './runs.js'
import { meets, parseFilter } from './search.js'
import * as store from './store.js'
import {
  checkKey,
  checkLength,
  invalid,
  keyValues,
  missing,
  MlflowError,
  nonEmpty,
  optBool,
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
 * MLflow's model registry. A version whose model folder has the onnx flavor is also
 * registered in Lathe's registry (signature read from the graph, the run's metrics and
 * params, lineage to the MLflow run in its metadata), so Lathe's gates, serving and
 * monitoring apply to it; any other flavor is kept as an artifact-only version whose
 * status_message says why it cannot be served. Aliases and Staging/Production move
 * Lathe's alias through its gate first.
 */

const stages = ['None', 'Staging', 'Production', 'Archived'] as const
type Stage = (typeof stages)[number]

function parseStage(v: string): Stage {
  const s = stages.find((x) => x.toLowerCase() === v.toLowerCase())
  if (!s) throw invalid(`Invalid Model Version stage: ${v}. Value must be one of ${stages.join(', ')}.`)
  return s
}

function requireRegisteredModel(ctx: EngineContext, name: string): store.RegisteredModelRow {
  const row = store.getRegisteredModel(ctx.workspace.db, name)
  if (!row) throw missing(`Registered Model with name=${name} not found`)
  return row
}

function versionNumber(m: Message): number {
  const v = reqString(m, 'version')
  if (!/^\d+$/.test(v)) throw invalid(`Invalid value '${v}' for parameter 'version': model versions are whole numbers`)
  return Number(v)
}

function requireModelVersion(ctx: EngineContext, name: string, version: number): store.ModelVersionRow {
  const row = store.getModelVersion(ctx.workspace.db, name, version)
  if (!row) throw missing(`Model Version (name=${name}, version=${version}) not found`)
  return row
}

function modelVersionToProto(ctx: EngineContext, v: store.ModelVersionRow) {
  const aliases = store
    .aliasesOf(ctx.workspace.db, v.name)
    .filter((a) => a.version === v.version)
    .map((a) => a.alias)
  return nonEmpty({
    name: v.name,
    version: String(v.version),
    creation_timestamp: v.creationMs,
    last_updated_timestamp: v.lastUpdatedMs,
    user_id: v.userId ?? undefined,
    current_stage: v.currentStage,
    description: v.description,
    source: v.source,
    run_id: v.runId ?? undefined,
    status: 'READY',
    status_message: v.notServable ? `artifact-only in Lathe, not servable: ${v.notServable}` : undefined,
    tags: tagsToList(v.tags),
    run_link: v.runLink ?? undefined,
    aliases,
  })
}

function latestVersions(ctx: EngineContext, name: string, only: Stage[] = []): store.ModelVersionRow[] {
  const latest = new Map<Stage, store.ModelVersionRow>()
  for (const v of store.listModelVersions(ctx.workspace.db, name)) latest.set(v.currentStage, v)
  return [...latest.values()].filter((v) => only.length === 0 || only.includes(v.currentStage)).sort((a, b) => a.version - b.version)
}

function registeredModelToProto(ctx: EngineContext, r: store.RegisteredModelRow) {
  return nonEmpty({
    name: r.name,
    creation_timestamp: r.creationMs,
    last_updated_timestamp: r.lastUpdatedMs,
    user_id: r.userId ?? undefined,
    description: r.description,
    latest_versions: latestVersions(ctx, r.name).map((v) => modelVersionToProto(ctx, v)),
    tags: tagsToList(r.tags),
    aliases: store.aliasesOf(ctx.workspace.db, r.name).map((a) => ({ alias: a.alias, version: String(a.version) })),
  })
}

/** Where a version's files are in the artifact store, and the run and logged model it came from. */
function resolveSource(ctx: EngineContext, source: string, runId: string | undefined, modelId: string | undefined) {
  const logged = /^models:\/(m-[0-9a-f]{32})\/?$/.exec(source)
  if (logged || (modelId && source.startsWith('models:/'))) {
    const model = requireLoggedModel(ctx, logged?.[1] ?? modelId!)
    return { storagePath: loggedModelRoot(model), runId: runId ?? model.sourceRunId, modelId: model.modelId }
  }
  const artifacts = /^mlflow-artifacts:(?:\/\/[^/]*)?\/(.+)$/.exec(source)
  if (artifacts) return { storagePath: checkArtifactPath(artifacts[1]!, 'source'), runId: runId ?? null, modelId: modelId ?? null }
  const runs = /^runs:\/([^/]+)\/?(.*)$/.exec(source)
  if (runs) {
    const run = requireRun(ctx, runs[1]!)
    const sub = checkArtifactPath(runs[2] ?? '', 'source')
    return { storagePath: sub ? `${runArtifactRoot(run)}/${sub}` : runArtifactRoot(run), runId: run.runId, modelId: modelId ?? null }
  }
  throw invalid(
    `Unsupported model version source '${source}': Lathe registers models stored in its own artifact store (mlflow-artifacts:/..., runs:/<run_id>/<path> or models:/<model_id>)`,
  )
}

/** The run's latest finite metrics and its params, carried onto the Lathe version for gates and the model card. */
function runFacts(ctx: EngineContext, runId: string | null): { metrics: Record<string, number>; params: Record<string, string> | null } {
  if (!runId || !store.getRunRow(ctx.workspace.db, runId)) return { metrics: {}, params: null }
  const metrics: Record<string, number> = {}
  for (const m of store.latestMetrics(ctx.workspace.db, runId)) if (m.special === '') metrics[m.key] = m.value
  return { metrics, params: store.getParams(ctx.workspace.db, runId) }
}

async function createModelVersion(ctx: EngineContext, m: Message) {
  const db = ctx.workspace.db
  const name = reqString(m, 'name')
  const source = reqString(m, 'source')
  requireRegisteredModel(ctx, name)
  const requestSha256 = createHash('sha256').update(JSON.stringify(m)).digest('hex')
  const replayed = store.findReplayedModelVersion(db, requestSha256, Date.now() - RUN_CREATE_REPLAY_WINDOW_MS)
  if (replayed) return { model_version: modelVersionToProto(ctx, replayed) }
  const resolved = resolveSource(ctx, source, optString(m, 'run_id'), optString(m, 'model_id'))
  const tags = Object.fromEntries(keyValues(m, 'tags').map((t) => [checkKey(t.key, 'Tag'), checkLength(t.value, 100_000, 'Tag value')]))
  const folder = await readModelFolder(ctx, resolved.storagePath)
  let notServable = folder.servable ? null : folder.reason
  if (folder.servable) {
    try {
      checkModelName(name)
    } catch (error) {
      if (!isLatheError(error)) throw error
      notServable = `${error.message}, so it cannot be a Lathe registry model`
    }
  }
  const stored = folder.servable && !notServable ? await ctx.workspace.objects.putBuffer(folder.bytes) : null
  const facts = runFacts(ctx, resolved.runId)
  const now = Date.now()
  const version = db
    .transaction(() => {
      // Two replays can both get past the check above while the ONNX is read: the second one stops here.
      const again = store.findReplayedModelVersion(db, requestSha256, now - RUN_CREATE_REPLAY_WINDOW_MS)
      if (again) return again
      const number = store.nextModelVersion(db, name)
      let latheVersion: number | null = null
      if (stored && folder.servable) {
        const created = addVersion(ctx, name, {
          onnxSha256: stored.sha256,
          signature: folder.description.signature,
          preprocessing: null,
          metrics: facts.metrics,
          params: facts.params,
          runId: resolved.runId,
          dataset: null,
          split: null,
          source: 'import',
          metadata: {
            ...folder.description.metadata,
            'import.file': folder.onnxFile,
            'mlflow.source': source,
            'mlflow.version': `${name}/${number}`,
            ...(resolved.runId ? { 'mlflow.run_id': resolved.runId } : {}),
            ...(resolved.modelId ? { 'mlflow.model_id': resolved.modelId } : {}),
            'mlflow.flavors': folder.flavors.join(', '),
          },
          description: optString(m, 'description'),
        })
        latheVersion = created.version
      }
      const row: store.ModelVersionRow = {
        name,
        version: number,
        source,
        storagePath: resolved.storagePath,
        runId: resolved.runId,
        modelId: resolved.modelId,
        userId: null,
        description: optString(m, 'description') ?? '',
        tags,
        currentStage: 'None',
        runLink: optString(m, 'run_link') ?? null,
        latheVersion,
        notServable,
        creationMs: now,
        lastUpdatedMs: now,
      }
      store.insertModelVersion(db, row, requestSha256)
      const registered = store.getRegisteredModel(db, name)!
      store.updateRegisteredModel(db, name, { ...registered, lastUpdatedMs: now })
      appendAudit(db, {
        actor: ctx.actor,
        action: 'mlflow.version.create',
        entityType: 'mlflow_model_version',
        entityId: `${name}/${number}`,
        after: { source, latheVersion, notServable },
      })
      return row
    })
    .immediate()
  return { model_version: modelVersionToProto(ctx, version) }
}

/** Moves a Lathe alias through its gate; a refusal is a 400 that lists every failed check. */
async function promoteThroughGate(ctx: EngineContext, v: store.ModelVersionRow, alias: string): Promise<void> {
  if (v.latheVersion === null) return
  try {
    await promote(ctx, { model: v.name, version: v.latheVersion, alias, reason: `MLflow API: ${v.name} version ${v.version}` })
  } catch (error) {
    if (isLatheError(error) && error.field === 'gate') {
      const gate = error.details as { checks: Array<{ name: string; passed: boolean; detail: string }> }
      const failed = gate.checks.filter((c) => !c.passed).map((c) => `${c.name} (${c.detail})`)
      throw invalid(`Lathe's gate for ${v.name}:${alias} refused version ${v.version}; failed checks: ${failed.join('; ')}`)
    }
    throw error
  }
}

export const registryHandlers = {
  'registered-models/create'(ctx: EngineContext, m: Message) {
    const db = ctx.workspace.db
    const name = reqString(m, 'name')
    const now = Date.now()
    const row: store.RegisteredModelRow = {
      name,
      description: optString(m, 'description') ?? '',
      tags: Object.fromEntries(keyValues(m, 'tags').map((t) => [checkKey(t.key, 'Tag'), checkLength(t.value, 100_000, 'Tag value')])),
      userId: null,
      creationMs: now,
      lastUpdatedMs: now,
    }
    db.transaction(() => {
      if (store.getRegisteredModel(db, name)) throw new MlflowError('RESOURCE_ALREADY_EXISTS', `Registered Model (name=${name}) already exists.`)
      store.insertRegisteredModel(db, row)
    }).immediate()
    return { registered_model: registeredModelToProto(ctx, row) }
  },
  'registered-models/get'(ctx: EngineContext, m: Message) {
    return { registered_model: registeredModelToProto(ctx, requireRegisteredModel(ctx, reqString(m, 'name'))) }
  },
  'registered-models/search'(ctx: EngineContext, m: Message) {
    const clauses = parseFilter(optString(m, 'filter'))
    const max = optInt(m, 'max_results') ?? 100
    const rows = store.listRegisteredModels(ctx.workspace.db).filter((r) =>
      clauses.every((c) => {
        if (c.entity === 'tag') return meets(c, r.tags[c.key] ?? null)
        if (c.key !== 'name') throw invalid(`Invalid filter key '${c.key}' for registered models: use name or tags.<key>`)
        return meets(c, r.name)
      }),
    )
    const offset = pageOffset(optString(m, 'page_token'))
    return nonEmpty({
      registered_models: rows.slice(offset, offset + max).map((r) => registeredModelToProto(ctx, r)),
      next_page_token: offset + max < rows.length ? pageToken(offset + max) : undefined,
    })
  },
  'registered-models/rename'(ctx: EngineContext, m: Message) {
    const row = requireRegisteredModel(ctx, reqString(m, 'name'))
    const newName = reqString(m, 'new_name')
    if (store.getRegisteredModel(ctx.workspace.db, newName))
      throw new MlflowError('RESOURCE_ALREADY_EXISTS', `Registered Model (name=${newName}) already exists.`)
    if (store.listModelVersions(ctx.workspace.db, row.name).some((v) => v.latheVersion !== null)) {
      throw invalid(
        `Registered model ${row.name} has versions in Lathe's registry, whose model names are permanent (serving and monitoring refer to them); register under a new name instead`,
      )
    }
    store.updateRegisteredModel(ctx.workspace.db, row.name, { ...row, name: newName, lastUpdatedMs: Date.now() })
    return { registered_model: registeredModelToProto(ctx, requireRegisteredModel(ctx, newName)) }
  },
  'registered-models/update'(ctx: EngineContext, m: Message) {
    const row = requireRegisteredModel(ctx, reqString(m, 'name'))
    const next = { ...row, description: optString(m, 'description') ?? row.description, lastUpdatedMs: Date.now() }
    store.updateRegisteredModel(ctx.workspace.db, row.name, next)
    return { registered_model: registeredModelToProto(ctx, next) }
  },
  'registered-models/delete'(ctx: EngineContext, m: Message) {
    const row = requireRegisteredModel(ctx, reqString(m, 'name'))
    if (store.listModelVersions(ctx.workspace.db, row.name).some((v) => v.latheVersion !== null)) {
      throw invalid(
        `Registered model ${row.name} has versions in Lathe's registry, which keeps every version for its audit trail; they cannot be deleted through MLflow`,
      )
    }
    store.deleteRegisteredModel(ctx.workspace.db, row.name)
    return {}
  },
  'registered-models/get-latest-versions'(ctx: EngineContext, m: Message) {
    const name = requireRegisteredModel(ctx, reqString(m, 'name')).name
    const only = optStringList(m, 'stages').map(parseStage)
    return nonEmpty({ model_versions: latestVersions(ctx, name, only).map((v) => modelVersionToProto(ctx, v)) })
  },
  'registered-models/set-tag'(ctx: EngineContext, m: Message) {
    const row = requireRegisteredModel(ctx, reqString(m, 'name'))
    const key = checkKey(reqString(m, 'key'), 'Tag')
    store.updateRegisteredModel(ctx.workspace.db, row.name, { ...row, tags: { ...row.tags, [key]: optString(m, 'value') ?? '' }, lastUpdatedMs: Date.now() })
    return {}
  },
  'registered-models/delete-tag'(ctx: EngineContext, m: Message) {
    const row = requireRegisteredModel(ctx, reqString(m, 'name'))
    const key = reqString(m, 'key')
    const { [key]: _gone, ...tags } = row.tags
    store.updateRegisteredModel(ctx.workspace.db, row.name, { ...row, tags, lastUpdatedMs: Date.now() })
    return {}
  },
  async 'POST registered-models/alias'(ctx: EngineContext, m: Message) {
    const name = requireRegisteredModel(ctx, reqString(m, 'name')).name
    const alias = checkLength(reqString(m, 'alias'), 255, 'Alias')
    if (/^v\d+$/i.test(alias) || alias.toLowerCase() === 'latest') throw invalid(`Alias '${alias}' is reserved (latest and v<number> name versions)`)
    const v = requireModelVersion(ctx, name, versionNumber(m))
    await promoteThroughGate(ctx, v, alias)
    store.setModelAlias(ctx.workspace.db, name, alias, v.version)
    return {}
  },
  'DELETE registered-models/alias'(ctx: EngineContext, m: Message) {
    const name = requireRegisteredModel(ctx, reqString(m, 'name')).name
    store.deleteModelAlias(ctx.workspace.db, name, reqString(m, 'alias'))
    return {}
  },
  'GET registered-models/alias'(ctx: EngineContext, m: Message) {
    const name = requireRegisteredModel(ctx, reqString(m, 'name')).name
    const alias = reqString(m, 'alias')
    const found = store.aliasesOf(ctx.workspace.db, name).find((a) => a.alias === alias)
    if (!found) throw invalid(`Registered model alias ${alias} not found.`)
    return { model_version: modelVersionToProto(ctx, requireModelVersion(ctx, name, found.version)) }
  },
  'model-versions/create': createModelVersion,
  'model-versions/get'(ctx: EngineContext, m: Message) {
    return { model_version: modelVersionToProto(ctx, requireModelVersion(ctx, reqString(m, 'name'), versionNumber(m))) }
  },
  'model-versions/search'(ctx: EngineContext, m: Message) {
    const clauses = parseFilter(optString(m, 'filter'))
    const max = optInt(m, 'max_results') ?? 200_000
    const rows = store.listModelVersions(ctx.workspace.db).filter((v) =>
      clauses.every((c) => {
        if (c.entity === 'tag') return meets(c, v.tags[c.key] ?? null)
        const attributes: Record<string, string | number | null> = { name: v.name, version_number: v.version, run_id: v.runId, source_path: v.source }
        if (!(c.key in attributes))
          throw invalid(`Invalid filter key '${c.key}' for model versions: use name, run_id, source_path, version_number or tags.<key>`)
        return meets(c, attributes[c.key]!)
      }),
    )
    const offset = pageOffset(optString(m, 'page_token'))
    return nonEmpty({
      model_versions: rows.slice(offset, offset + max).map((v) => modelVersionToProto(ctx, v)),
      next_page_token: offset + max < rows.length ? pageToken(offset + max) : undefined,
    })
  },
  'model-versions/update'(ctx: EngineContext, m: Message) {
    const v = requireModelVersion(ctx, reqString(m, 'name'), versionNumber(m))
    const next = { ...v, description: optString(m, 'description') ?? v.description, lastUpdatedMs: Date.now() }
    store.updateModelVersion(ctx.workspace.db, next)
    return { model_version: modelVersionToProto(ctx, next) }
  },
  async 'model-versions/transition-stage'(ctx: EngineContext, m: Message) {
    const db = ctx.workspace.db
    const v = requireModelVersion(ctx, reqString(m, 'name'), versionNumber(m))
    const stage = parseStage(reqString(m, 'stage'))
    const archive = optBool(m, 'archive_existing_versions')
    if (archive === undefined) throw invalid("Missing value for required parameter 'archive_existing_versions'.")
    if (stage === 'Production' || stage === 'Staging') await promoteThroughGate(ctx, v, stage.toLowerCase())
    const now = Date.now()
    db.transaction(() => {
      if (archive && (stage === 'Production' || stage === 'Staging')) {
        for (const other of store.listModelVersions(db, v.name)) {
          if (other.version !== v.version && other.currentStage === stage)
            store.updateModelVersion(db, { ...other, currentStage: 'Archived', lastUpdatedMs: now })
        }
      }
      store.updateModelVersion(db, { ...v, currentStage: stage, lastUpdatedMs: now })
    }).immediate()
    return { model_version: modelVersionToProto(ctx, requireModelVersion(ctx, v.name, v.version)) }
  },
  'model-versions/delete'(ctx: EngineContext, m: Message) {
    const v = requireModelVersion(ctx, reqString(m, 'name'), versionNumber(m))
    if (v.latheVersion !== null) {
      throw invalid(
        `Version ${v.version} of ${v.name} is Lathe registry version ${v.latheVersion}, which is immutable and kept for its audit trail; it cannot be deleted`,
      )
    }
    store.deleteModelVersion(ctx.workspace.db, v.name, v.version)
    return {}
  },
  'model-versions/get-download-uri'(ctx: EngineContext, m: Message) {
    const v = requireModelVersion(ctx, reqString(m, 'name'), versionNumber(m))
    return { artifact_uri: `mlflow-artifacts:/${v.storagePath}` }
  },
  'model-versions/set-tag'(ctx: EngineContext, m: Message) {
    const v = requireModelVersion(ctx, reqString(m, 'name'), versionNumber(m))
    const key = checkKey(reqString(m, 'key'), 'Tag')
    store.updateModelVersion(ctx.workspace.db, { ...v, tags: { ...v.tags, [key]: optString(m, 'value') ?? '' }, lastUpdatedMs: Date.now() })
    return {}
  },
  'model-versions/delete-tag'(ctx: EngineContext, m: Message) {
    const v = requireModelVersion(ctx, reqString(m, 'name'), versionNumber(m))
    const { [reqString(m, 'key')]: _gone, ...tags } = v.tags
    store.updateModelVersion(ctx.workspace.db, { ...v, tags, lastUpdatedMs: Date.now() })
    return {}
  },
}
