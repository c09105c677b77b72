import { z } from 'zod'
import { ModelSignature } from '../api/common/signature.js'
import { defineEvents, defineOperation, defineOperations, defineServices, type EventPayloadsOf } from '../api/index.js'
import type { EngineContext } from '../context.js'
import { listAudit } from '../workspace/index.js'
import { startRegistryService } from './auto-register.js'
import { registerModelDependents } from './dataset-dependents.js'
import { Lineage, TrainedOnEntry, versionLineage, versionsTrainedOn } from './lineage.js'
import { exportVersion, importPackage } from './package.js'
import { checkPromotion, configureGate, gateFor, promote, rollback } from './promotion.js'
import { RemovalResult, removeModel, removeVersion, restoreArchived, versionsFromRun } from './removal.js'
import { findVersion, requireModel, resolveModelVersion } from './resolve.js'
import { editModel, editVersion, importOnnxFile, modelCardOf, registerRun, toModelVersion } from './service.js'
import { listAliases, listAliasMoves, listGates, listModels, listVersions } from './store.js'
import { AliasMove, GateConfig, GateResult, Metrics, ModelSummary, ModelVersion, PromoteResult } from './types.js'

const modelRef = { model: z.string().min(1) }
const versionRef = { ...modelRef, version: z.string().min(1).default('production').describe('version number or alias') }
const Tags = z.record(z.string(), z.string())

export const registryOperations = defineOperations('registry', {
  'registry.models.list': defineOperation({
    summary: 'Registered models with their latest version and aliases',
    input: z.object({ includeArchived: z.boolean().default(false) }).strict(),
    output: z.array(ModelSummary),
    handler: ({ includeArchived }, ctx) =>
      listModels(ctx.workspace.db)
        .filter((m) => includeArchived || !m.archivedAt)
        .map((m) => summarize(ctx, m.name)),
  }),
  'registry.models.show': defineOperation({
    summary: 'One model: its versions, aliases (since when) and the gate of each alias',
    input: z.object(modelRef).strict(),
    output: z.object({ model: ModelSummary, versions: z.array(ModelVersion), gates: z.record(z.string(), GateConfig) }),
    handler: ({ model }, ctx) => {
      const row = requireModel(ctx, model)
      // Every alias in use shows the gate it applies (stored or default), plus gates set for aliases not yet used.
      const gates: Record<string, GateConfig> = listGates(ctx.workspace.db, row.id)
      for (const a of listAliases(ctx.workspace.db, row.id)) gates[a.alias] ??= gateFor(ctx, model, a.alias)
      return { model: summarize(ctx, model), versions: listVersions(ctx.workspace.db, row.id).map((v) => toModelVersion(ctx, v)), gates }
    },
  }),
  'registry.models.edit': defineOperation({
    summary: "Edit a model's description or tags",
    input: z.object({ ...modelRef, description: z.string().optional(), tags: Tags.optional() }).strict(),
    output: ModelSummary,
    handler: ({ model, ...patch }, ctx) => {
      editModel(ctx, model, patch)
      return summarize(ctx, model)
    },
  }),
  'registry.versions.show': defineOperation({
    summary: 'One version (by number or alias) with its model card',
    input: z.object(versionRef).strict(),
    output: z.object({ version: ModelVersion, card: z.object({ markdown: z.string(), generated: z.boolean() }) }),
    handler: ({ model, version }, ctx) => {
      const { row } = findVersion(ctx, model, version)
      return { version: toModelVersion(ctx, row), card: modelCardOf(ctx, model, String(row.version)) }
    },
  }),
  'registry.versions.register': defineOperation({
    summary: "Register a finished run's model as the next version of a model",
    input: z.object({ runId: z.string().min(1), name: z.string().min(1) }).strict(),
    output: ModelVersion,
    handler: ({ runId, name }, ctx) => registerRun(ctx, runId, name),
  }),
  'registry.versions.import': defineOperation({
    summary: 'Import an ONNX model trained anywhere; its signature is read from the graph',
    input: z
      .object({
        file: z.string().min(1).optional().describe('a path the engine can read'),
        content: z.string().optional().describe('the file, base64 (from a browser)'),
        fileName: z.string().min(1).optional(),
        name: z.string().min(1),
        description: z.string().optional(),
        metadata: Tags.optional(),
        metrics: Metrics.optional(),
      })
      .strict(),
    output: ModelVersion,
    handler: (input, ctx) => importOnnxFile(ctx, input),
  }),
  'registry.versions.edit': defineOperation({
    summary: "Edit a version's description, tags, intended use or model card (the rest is immutable)",
    input: z
      .object({
        ...versionRef,
        description: z.string().optional(),
        tags: Tags.optional(),
        intendedUse: z.string().optional(),
        card: z.string().nullable().optional().describe('markdown; null goes back to the generated card'),
      })
      .strict(),
    output: ModelVersion,
    handler: ({ model, version, ...patch }, ctx) => editVersion(ctx, model, version, patch),
  }),
  'registry.resolve': defineOperation({
    summary: 'Resolve a model and an alias or version number to its ONNX object and signature',
    input: z.object(versionRef).strict(),
    output: z.object({
      model: z.string(),
      version: z.number(),
      versionId: z.string(),
      onnxSha256: z.string(),
      path: z.string(),
      signature: ModelSignature,
      runId: z.string().nullable(),
      datasetVersionId: z.string().nullable(),
      metrics: Metrics,
      aliases: z.array(z.string()),
    }),
    handler: ({ model, version }, ctx) => resolveModelVersion(ctx, model, version),
  }),
  'registry.lineage': defineOperation({
    summary: 'Where a version came from: run, dataset versions, transforms, source files',
    input: z.object(versionRef).strict(),
    output: Lineage,
    handler: ({ model, version }, ctx) => versionLineage(ctx, model, version),
  }),
  'registry.lineage.trainedOn': defineOperation({
    summary: 'Which model versions were trained on a dataset version (or on data derived from it)',
    input: z.object({ dataset: z.string().min(1).describe('name or name@N') }).strict(),
    output: z.array(TrainedOnEntry),
    handler: ({ dataset }, ctx) => versionsTrainedOn(ctx, dataset),
  }),
  'registry.promote.check': defineOperation({
    summary: "Run an alias's gate for a version without moving anything",
    input: z.object({ ...modelRef, version: z.union([z.number().int(), z.string().min(1)]), alias: z.string().min(1) }).strict(),
    output: z.object({ version: z.number(), previous: z.number().nullable(), gate: GateResult }),
    handler: (input, ctx) => checkPromotion(ctx, input),
  }),
  'registry.promote': defineOperation({
    summary: 'Move an alias to a version through its gate (force moves it anyway, recorded in the audit log)',
    input: z
      .object({
        ...modelRef,
        version: z.union([z.number().int(), z.string().min(1)]),
        alias: z.string().min(1),
        force: z.boolean().default(false),
        reason: z.string().optional(),
        cause: z.string().optional(),
      })
      .strict(),
    output: PromoteResult,
    handler: (input, ctx) => promote(ctx, input),
  }),
  'registry.rollback': defineOperation({
    summary: 'Move an alias back to the version it held before',
    input: z.object({ ...modelRef, alias: z.string().min(1), reason: z.string().optional(), cause: z.string().optional() }).strict(),
    output: PromoteResult,
    handler: (input, ctx) => rollback(ctx, input),
  }),
  'registry.gate.get': defineOperation({
    summary: 'The gate an alias applies (stored, or the default checks)',
    input: z.object({ ...modelRef, alias: z.string().min(1) }).strict(),
    output: GateConfig,
    handler: ({ model, alias }, ctx) => gateFor(ctx, model, alias),
  }),
  'registry.gate.set': defineOperation({
    summary: "Set an alias's gate: metric thresholds, no-worse-than-current, signature and data checks",
    input: z.object({ ...modelRef, alias: z.string().min(1), gate: GateConfig }).strict(),
    output: GateConfig,
    handler: ({ model, alias, gate }, ctx) => configureGate(ctx, model, alias, gate),
  }),
  'registry.history': defineOperation({
    summary: 'Every alias move of a model, and the audit log of its changes',
    input: z.object({ ...modelRef, alias: z.string().optional() }).strict(),
    output: z.object({
      moves: z.array(AliasMove),
      audit: z.array(
        z.object({
          id: z.number(),
          time: z.string(),
          actor: z.string(),
          action: z.string(),
          entityType: z.string(),
          entityId: z.string(),
          before: z.unknown(),
          after: z.unknown(),
          reason: z.string().optional(),
        }),
      ),
    }),
    handler: ({ model, alias }, ctx) => {
      const row = requireModel(ctx, model)
      const db = ctx.workspace.db
      const audit = [
        ...listAudit(db, { entityType: 'model', entityId: model }),
        ...listAudit(db, { entityType: 'model_version' }).filter((a) => a.entityId.startsWith(`${model}@`)),
        ...listAudit(db, { entityType: 'model_alias' }).filter((a) => a.entityId.startsWith(`${model}:`)),
        ...listAudit(db, { entityType: 'model_gate' }).filter((a) => a.entityId.startsWith(`${model}:`)),
      ].sort((a, b) => a.id - b.id)
      return { moves: listAliasMoves(db, row.id, alias), audit }
    },
  }),
  'registry.versions.remove': defineOperation({
    summary:
      'Delete a version nothing refers to, or archive one with alias history (lineage kept); refused while an alias holds it or the endpoint serves it. dryRun: say which, and why, changing nothing',
    input: z.object({ ...modelRef, version: z.string().regex(/^\d+$/, 'a version number'), dryRun: z.boolean().default(false) }).strict(),
    output: RemovalResult,
    handler: ({ model, version, dryRun }, ctx) => removeVersion(ctx, model, version, dryRun),
  }),
  'registry.models.remove': defineOperation({
    summary: 'Delete a model and its versions when nothing refers to them, else archive them; refused while an alias is set, it is deployed or monitored',
    input: z.object({ ...modelRef, dryRun: z.boolean().default(false) }).strict(),
    output: RemovalResult,
    handler: ({ model, dryRun }, ctx) => removeModel(ctx, model, dryRun),
  }),
  'registry.restore': defineOperation({
    summary: 'Bring back an archived version, or an archived model with the versions archived with it',
    input: z.object({ ...modelRef, version: z.string().regex(/^\d+$/, 'a version number').optional() }).strict(),
    output: z.object({ model: z.string(), version: z.number().int().nullable(), restored: z.boolean() }),
    handler: ({ model, version }, ctx) => {
      const result = restoreArchived(ctx, model, version)
      if (result.restored) ctx.events.emit('registry.removed', { model, version: result.version, action: 'restored' })
      return result
    },
  }),
  'registry.runs.versions': defineOperation({
    summary: 'The model versions registered from a run (such a run is archived, never deleted)',
    input: z.object({ run: z.string().min(1) }).strict(),
    output: z.array(z.object({ model: z.string(), version: z.number().int() })),
    handler: ({ run }, ctx) => versionsFromRun(ctx, run),
  }),
  'registry.export': defineOperation({
    summary: 'Export a version as a portable zip package (or, format onnx, its bare ONNX graph) to a file, or (no file: for a browser download) as base64',
    input: z.object({ ...versionRef, file: z.string().min(1).optional(), format: z.enum(['package', 'onnx']).default('package') }).strict(),
    output: z.object({ file: z.string().nullable(), fileName: z.string(), bytes: z.number(), content: z.string().optional() }),
    handler: ({ model, version, file, format }, ctx) => exportVersion(ctx, model, version, file, format),
  }),
  'registry.importPackage': defineOperation({
    summary: 'Import a package exported by another workspace, keeping the version identity',
    input: z
      .object({ file: z.string().min(1).optional(), content: z.string().optional(), fileName: z.string().optional(), name: z.string().optional() })
      .strict(),
    output: z.object({ version: ModelVersion, created: z.boolean() }),
    handler: ({ name, ...from }, ctx) => importPackage(ctx, from, name),
  }),
})

function summarize(ctx: EngineContext, name: string): ModelSummary {
  const row = requireModel(ctx, name)
  const versions = listVersions(ctx.workspace.db, row.id)
  return {
    name: row.name,
    modelId: row.id,
    description: row.description,
    tags: row.tags,
    latestVersion: versions.at(-1)?.version ?? null,
    versionCount: versions.length,
    aliases: listAliases(ctx.workspace.db, row.id),
    createdAt: row.createdAt,
    ...(row.archivedAt ? { archivedAt: row.archivedAt } : {}),
  }
}

/** Emitted when an alias points somewhere new (promote, rollback): serving swaps what it serves. */
export const aliasMovedTopic = 'registry.alias.moved' as const

export const registryEvents = defineEvents({
  /** Emitted after the move commits; serving hot-swaps on it. */
  [aliasMovedTopic]: z.object({ model: z.string(), alias: z.string(), version: z.number(), previous: z.number().nullable() }),
  'registry.version.created': z.object({ model: z.string(), version: z.number(), versionId: z.string() }),
  'registry.autoregister.failed': z.object({ runId: z.string(), message: z.string() }),
  /** A model or version was deleted, archived or restored (`version` null: the whole model). */
  'registry.removed': z.object({ model: z.string(), version: z.number().nullable(), action: z.enum(['deleted', 'archived', 'restored']) }),
})

// Typed emit and subscribe: the bus knows these topics' payloads.
declare module '../api/events.js' {
  interface EventPayloadMap extends EventPayloadsOf<typeof registryEvents> {}
}

/** Every engine registers finished runs that asked for it (`registerAs`), those that finished while no engine listened included. */
export const registryServices = defineServices(
  { name: 'registry.auto-register', runsIn: 'always', start: startRegistryService },
  { name: 'registry.dataset-dependents', runsIn: 'always', start: registerModelDependents },
)
