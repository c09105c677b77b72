import fsp from 'node:fs/promises'
import path from 'node:path'
import { LatheError } from '../api/common/errors.js'
import type { EngineContext } from '../context.js'
import { appendAudit, uuidv7 } from '../workspace/index.js'
import { generateModelCard } from './card.js'
import { describeOnnx } from './onnx.js'
import { findVersion, requireModel } from './resolve.js'
import {
  aliasesOfVersion,
  getModel,
  getVersionById,
  insertModel,
  insertVersion,
  nextVersionNumber,
  updateModel,
  updateVersionText,
  versionsByRun,
  type ModelRow,
  type NewVersion,
  type VersionRow,
} from './store.js'
import { ModelName, type Metrics, type ModelVersion } from './types.js'
import { getFinishedRun } from './upstream.js'

/** What a new version is made of; the registry adds its identity and number. */
export interface VersionContent extends Pick<
  NewVersion,
  'onnxSha256' | 'signature' | 'preprocessing' | 'metrics' | 'params' | 'runId' | 'dataset' | 'split' | 'source' | 'metadata'
> {
  description?: string
  tags?: Record<string, string>
  intendedUse?: string
  card?: string
}

export function toModelVersion(ctx: EngineContext, row: VersionRow): ModelVersion {
  const { modelId: _modelId, cardMd: _cardMd, ...rest } = row
  return { ...rest, aliases: aliasesOfVersion(ctx.workspace.db, row.versionId) }
}

export function checkModelName(name: string): string {
  const parsed = ModelName.safeParse(name)
  if (!parsed.success) throw new LatheError('bad_request', `model name "${name}": ${parsed.error.issues[0]!.message}`, { field: 'name' })
  return name
}

/** Call inside a transaction: the model's row and its audit entry land with the version. */
function ensureModel(ctx: EngineContext, name: string, now: string): ModelRow {
  const db = ctx.workspace.db
  const existing = getModel(db, name)
  if (existing) return existing
  const model: ModelRow = { id: uuidv7(), name, description: '', tags: {}, createdAt: now, createdBy: ctx.actor }
  insertModel(db, model)
  appendAudit(db, { actor: ctx.actor, action: 'model.create', entityType: 'model', entityId: name, after: { name } })
  return model
}

/**
 * Adds an immutable version to a model (created on first use), in one transaction
 * with its audit entry. `identity` keeps a version's id and number when it comes
 * from a package exported by another workspace.
 */
export function addVersion(
  ctx: EngineContext,
  modelName: string,
  content: VersionContent,
  identity?: { versionId: string; version: number; createdAt: string; createdBy: string },
): ModelVersion {
  checkModelName(modelName)
  const db = ctx.workspace.db
  const now = new Date().toISOString()
  const row = db
    .transaction(() => {
      const model = ensureModel(ctx, modelName, now)
      const number = identity?.version ?? nextVersionNumber(db, model.id)
      const taken = db.prepare('SELECT id FROM registry_versions WHERE model_id = ? AND version = ?').get(model.id, number)
      if (taken) {
        throw new LatheError('conflict', `model "${modelName}" already has a version ${number}; import the package under another name with --name`, {
          field: 'name',
        })
      }
      const { card: _card, ...immutable } = content
      const version: NewVersion = {
        id: identity?.versionId ?? uuidv7(),
        modelId: model.id,
        version: number,
        ...immutable,
        description: content.description ?? '',
        tags: content.tags ?? {},
        intendedUse: content.intendedUse ?? '',
        cardMd: content.card ?? null,
        createdAt: identity?.createdAt ?? now,
        createdBy: identity?.createdBy ?? ctx.actor,
      }
      insertVersion(db, version)
      appendAudit(db, {
        actor: ctx.actor,
        action: 'version.create',
        entityType: 'model_version',
        entityId: `${modelName}@${number}`,
        after: { versionId: version.id, onnxSha256: version.onnxSha256, source: version.source, runId: version.runId },
      })
      return getVersionById(db, version.id)!
    })
    .immediate()
  const result = toModelVersion(ctx, row)
  ctx.events.emit('registry.version.created', { model: result.model, version: result.version, versionId: result.versionId })
  return result
}

/**
 * A finished run's model becomes the next version of `name`. Registering the same run twice returns the first.
 * `metadata` is kept on the version (a pipeline names itself there, for lineage).
 */
export function registerRun(ctx: EngineContext, runId: string, name: string, metadata: Record<string, string> = {}): ModelVersion {
  checkModelName(name)
  const already = versionsByRun(ctx.workspace.db, runId).find((v) => v.model === name)
  if (already) return toModelVersion(ctx, already)
  const run = getFinishedRun(ctx, runId)
  if (!ctx.workspace.objects.has(run.model.onnxSha256)) {
    throw new LatheError('not_found', `run ${runId}'s ONNX model (${run.model.onnxSha256}) is missing from the object store`)
  }
  return addVersion(ctx, name, {
    onnxSha256: run.model.onnxSha256,
    signature: run.model.signature,
    preprocessing: run.model.preprocessing,
    metrics: run.metrics,
    params: run.params,
    runId: run.id,
    dataset: run.dataset,
    split: run.split,
    source: 'run',
    metadata: { ...(run.backend ? { 'training.backend': run.backend } : {}), ...metadata },
  })
}

/**
 * Imports an ONNX model trained anywhere; its signature is read from the graph.
 * `file` is a path the engine can read; the browser, which has no paths, sends
 * `content` (base64) with `fileName` instead.
 */
export async function importOnnxFile(
  ctx: EngineContext,
  input: {
    file?: string
    content?: string
    fileName?: string
    name: string
    description?: string
    metadata?: Record<string, string>
    metrics?: Metrics
  },
): Promise<ModelVersion> {
  checkModelName(input.name)
  if ((input.file === undefined) === (input.content === undefined)) {
    throw new LatheError('bad_request', 'give either file (a path to an .onnx file) or content (the file, base64, with fileName)', { field: 'file' })
  }
  let bytes: Buffer
  let fileName: string
  if (input.content !== undefined) {
    bytes = Buffer.from(input.content, 'base64')
    fileName = input.fileName ?? 'uploaded.onnx'
  } else {
    fileName = path.basename(input.file!)
    try {
      bytes = await fsp.readFile(input.file!)
    } catch (error) {
      throw new LatheError('not_found', `cannot read ${input.file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, {
        field: 'file',
      })
    }
  }
  const described = await describeOnnx(bytes, fileName)
  const { sha256 } = await ctx.workspace.objects.putBuffer(bytes)
  return addVersion(ctx, input.name, {
    onnxSha256: sha256,
    signature: described.signature,
    preprocessing: null,
    metrics: input.metrics ?? {},
    params: null,
    runId: null,
    dataset: null,
    split: null,
    source: 'import',
    metadata: { ...described.metadata, ...input.metadata, 'import.file': fileName },
    description: input.description,
  })
}

/** Edits the parts of a version that may change: description, tags, intended use, card. */
export function editVersion(
  ctx: EngineContext,
  model: string,
  selector: string,
  patch: { description?: string; tags?: Record<string, string>; intendedUse?: string; card?: string | null },
): ModelVersion {
  const db = ctx.workspace.db
  const { row } = findVersion(ctx, model, selector)
  db.transaction(() => {
    const before = { description: row.description, tags: row.tags, intendedUse: row.intendedUse, card: row.cardMd }
    updateVersionText(db, row.versionId, { ...patch, cardMd: patch.card })
    const after = { ...before, ...Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined)) }
    appendAudit(db, { actor: ctx.actor, action: 'version.edit', entityType: 'model_version', entityId: `${model}@${row.version}`, before, after })
  }).immediate()
  return toModelVersion(ctx, getVersionById(db, row.versionId)!)
}

export function editModel(ctx: EngineContext, name: string, patch: { description?: string; tags?: Record<string, string> }): void {
  const db = ctx.workspace.db
  const model = requireModel(ctx, name)
  db.transaction(() => {
    updateModel(db, model.id, patch)
    appendAudit(db, {
      actor: ctx.actor,
      action: 'model.edit',
      entityType: 'model',
      entityId: name,
      before: { description: model.description, tags: model.tags },
      after: { description: patch.description ?? model.description, tags: patch.tags ?? model.tags },
    })
  }).immediate()
}

/** The stored card when someone wrote one, else one generated from what is known. */
export function modelCardOf(ctx: EngineContext, model: string, selector: string): { markdown: string; generated: boolean } {
  const { row } = findVersion(ctx, model, selector)
  if (row.cardMd !== null) return { markdown: row.cardMd, generated: false }
  return { markdown: generateModelCard(toModelVersion(ctx, row)), generated: true }
}
