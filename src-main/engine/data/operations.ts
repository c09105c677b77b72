import { randomUUID } from 'node:crypto'
import fsp from 'node:fs/promises'
import path from 'node:path'
import { z } from 'zod'
import { LatheError } from '../api/common/errors.js'
import { defineOperation, defineOperations, newDownloadPath, uploadPath, type EventPayloadsOf } from '../api/index.js'
import { defineEvents } from '../api/index.js'
import type { EngineContext } from '../context.js'
import { exportVersion, previewVersion, PreviewFilter } from './preview.js'
import { importDatasetFile } from './importer.js'
import { ImportOptions } from './import-options.js'
import { profileVersion, Profile } from './profile.js'
import { findVersionRecord } from './resolve.js'
import { RuleResult, ValidationRule } from './rules.js'
import { createSplit, listSplitsOf, SplitView } from './split-specs.js'
import { childrenOf, findDataset, getVersionById, listDatasets, listVersions, type VersionRecord } from './store.js'
import { archiveDatasetRef, deleteDatasetRef, DependentsView, describeDependents } from './lifecycle.js'
import { previewTransform, runTransform } from './transform.js'
import { setDatasetRules, validateVersion } from './validation.js'
import { SplitSpec } from './types.js'

const Column = z.object({ name: z.string(), type: z.string() })

const VersionView = z.object({
  dataset: z.string(),
  version: z.number(),
  versionId: z.string(),
  origin: z.enum(['file', 'transform']),
  source: z.string(),
  sourceSha256: z.string(),
  objectSha256: z.string(),
  bytes: z.number(),
  rows: z.number(),
  columns: z.array(Column),
  options: z.unknown(),
  createdAt: z.string(),
  validation: z.object({ status: z.enum(['passed', 'failed', 'none']), results: z.array(RuleResult) }),
  /** Parent versions as `name@V` (a transform's inputs). */
  parents: z.array(z.string()),
  /** When it was archived (hidden from lists, still readable), else null. */
  archivedAt: z.string().nullable(),
})
type VersionView = z.input<typeof VersionView>

function viewOf(ctx: EngineContext, record: VersionRecord): VersionView {
  return {
    dataset: record.name,
    version: record.version,
    versionId: record.id,
    origin: record.origin,
    source: record.sourceName,
    sourceSha256: record.sourceSha256,
    objectSha256: record.objectSha256,
    bytes: record.bytes,
    rows: record.rows,
    columns: record.columns,
    options: record.options,
    createdAt: record.createdAt,
    validation: record.validation as VersionView['validation'],
    parents: record.parents.map((id) => {
      const parent = getVersionById(ctx.workspace.db, id)
      return parent ? `${parent.name}@${parent.version}` : id
    }),
    archivedAt: record.archivedAt,
  }
}

const ImportOutput = z.object({
  dataset: z.string(),
  version: z.number(),
  versionId: z.string(),
  rows: z.number(),
  columns: z.array(Column),
  created: z.boolean(),
  validation: z.object({ status: z.enum(['passed', 'failed', 'none']), results: z.array(RuleResult) }),
})

const Ref = z.object({ dataset: z.string().min(1) })

export const dataOperations = defineOperations('data', {
  'data.import': defineOperation({
    summary:
      'Import a CSV/TSV, JSON/NDJSON or Parquet file as a new dataset version. Give `path` (a file the engine can read) ' +
      'or `content` (the file base64-encoded, with `fileName`, for the browser, which cannot hand over a path)',
    input: ImportOptions.extend({
      name: z.string(),
      path: z.string().min(1).optional(),
      content: z.string().optional(),
      /** An id from `POST /api/v1/uploads` (the browser streams big files there first). */
      upload: z.string().min(1).optional(),
      fileName: z.string().min(1).optional(),
    }).strict(),
    output: ImportOutput,
    handler: async (input, ctx) => {
      const { name, path: file, content, upload, fileName, ...options } = input
      if ([file, content, upload].filter((x) => x !== undefined).length !== 1) {
        throw new LatheError('bad_request', 'give one of path (a file to import), upload (an uploaded file) or content (the file, base64)', { field: 'path' })
      }
      let source = file
      let staged: string | null = null
      if (upload !== undefined) {
        staged = uploadPath(ctx.workspace.tmpDir, upload)
        source = staged
      }
      if (content !== undefined) {
        if (!fileName) throw new LatheError('bad_request', 'content needs fileName, to know the format and name the source', { field: 'fileName' })
        staged = ctx.workspace.objects.stagingPath(path.extname(fileName))
        await fsp.writeFile(staged, Buffer.from(content, 'base64'))
        source = staged
      }
      try {
        const { record, created } = await importDatasetFile(ctx, {
          name,
          file: path.resolve(source!),
          sourceName: fileName ?? path.basename(source!),
          options,
        })
        return {
          dataset: record.name,
          version: record.version,
          versionId: record.id,
          rows: record.rows,
          columns: record.columns,
          created,
          validation: record.validation as z.input<typeof ImportOutput>['validation'],
        }
      } catch (error) {
        // A browser's file was staged under a temporary name: say the name the person knows.
        if (staged && error instanceof LatheError && error.message.includes(staged)) {
          throw new LatheError(error.code, error.message.replaceAll(staged, fileName ?? 'the file'), {
            field: error.field,
            line: error.line,
            details: error.details,
          })
        }
        throw error
      } finally {
        if (staged) await fsp.rm(staged, { force: true })
      }
    },
  }),

  'data.list': defineOperation({
    summary: 'Every dataset with its version count and latest version (archived datasets only with includeArchived)',
    input: z.object({ includeArchived: z.boolean().default(false) }).strict(),
    output: z.object({
      datasets: z.array(
        z.object({
          name: z.string(),
          versions: z.number(),
          archivedVersions: z.number(),
          archivedAt: z.string().nullable(),
          createdAt: z.string(),
          latest: VersionView.nullable(),
          rules: z.number(),
        }),
      ),
    }),
    handler: (input, ctx) => ({
      datasets: listDatasets(ctx.workspace.db, { includeArchived: input.includeArchived }).map((d) => ({
        name: d.name,
        versions: d.versions,
        archivedVersions: d.archived,
        archivedAt: d.archivedAt,
        createdAt: d.createdAt,
        latest: d.latest ? viewOf(ctx, d.latest) : null,
        rules: d.rules.length,
      })),
    }),
  }),

  'data.show': defineOperation({
    summary: 'One dataset version (name or name@V): schema, source, validation, lineage; and the list of all versions',
    input: Ref.strict(),
    output: z.object({
      version: VersionView,
      versions: z.array(
        z.object({ version: z.number(), rows: z.number(), createdAt: z.string(), validation: z.string(), origin: z.string(), archived: z.boolean() }),
      ),
      rules: z.array(ValidationRule),
      children: z.array(z.string()),
    }),
    handler: (input, ctx) => {
      const record = findVersionRecord(ctx, input.dataset)
      const dataset = findDataset(ctx.workspace.db, record.name)!
      const children = childrenOf(ctx.workspace.db, record.id)
        .map((id) => getVersionById(ctx.workspace.db, id))
        .filter((v): v is VersionRecord => v !== null)
        .map((v) => `${v.name}@${v.version}`)
      return {
        version: viewOf(ctx, record),
        versions: listVersions(ctx.workspace.db, record.datasetId).map((v) => ({
          version: v.version,
          rows: v.rows,
          createdAt: v.createdAt,
          validation: v.validation.status,
          origin: v.origin,
          archived: v.archivedAt !== null,
        })),
        rules: dataset.rules as z.input<typeof ValidationRule>[],
        children,
      }
    },
  }),

  'data.profile': defineOperation({
    summary: 'The profile of a version (computed in DuckDB once, then cached): per column stats, quantiles, histogram or top values',
    input: Ref.strict(),
    output: Profile,
    handler: (input, ctx) => profileVersion(ctx, findVersionRecord(ctx, input.dataset)),
  }),

  'data.rules.set': defineOperation({
    summary: "Replace a dataset's validation rules (checked at every import of a new version)",
    input: z.object({ dataset: z.string().min(1), rules: z.array(ValidationRule) }).strict(),
    output: z.object({ dataset: z.string(), rules: z.array(ValidationRule) }),
    handler: async (input, ctx) => {
      const result = await setDatasetRules(ctx, input.dataset, input.rules)
      ctx.events.emit('data.changed', { dataset: input.dataset, change: 'rules' })
      return result
    },
  }),

  'data.validate': defineOperation({
    summary: "Check a version against its dataset's current rules and record the result",
    input: Ref.strict(),
    output: z.object({ dataset: z.string(), version: z.number(), status: z.enum(['passed', 'failed', 'none']), results: z.array(RuleResult) }),
    handler: async (input, ctx) => {
      const result = await validateVersion(ctx, findVersionRecord(ctx, input.dataset))
      ctx.events.emit('data.changed', { dataset: result.dataset, change: 'validated' })
      return result
    },
  }),

  'data.transform.preview': defineOperation({
    summary: 'The schema and first rows a transform SQL would give, saving nothing; a DuckDB error names its line and column',
    input: z.object({ sql: z.string().min(1), limit: z.number().int().min(1).max(1000).default(50) }).strict(),
    output: z.object({ columns: z.array(Column), rows: z.array(z.record(z.string(), z.unknown())), parents: z.array(z.string()) }),
    handler: (input, ctx) => previewTransform(ctx, input.sql, input.limit),
  }),

  'data.transform': defineOperation({
    summary: 'Derive a new version of dataset `name` from a SQL SELECT over versions referenced as name@V (lineage kept)',
    input: z.object({ name: z.string(), sql: z.string().min(1) }).strict(),
    output: ImportOutput.extend({ parents: z.array(z.string()) }),
    handler: async (input, ctx) => {
      const { record, created } = await runTransform(ctx, input.name, input.sql)
      const view = viewOf(ctx, record)
      return {
        dataset: view.dataset,
        version: view.version,
        versionId: view.versionId,
        rows: view.rows,
        columns: view.columns,
        created,
        validation: view.validation,
        parents: view.parents,
      }
    },
  }),

  'data.splits.create': defineOperation({
    summary: 'Record a named, seeded split spec (random, stratified or by time) for a version and count its parts',
    input: z.object({ dataset: z.string().min(1), name: z.string().min(1).max(100).default('default'), spec: SplitSpec }).strict(),
    output: SplitView,
    handler: async (input, ctx) => {
      const split = await createSplit(ctx, findVersionRecord(ctx, input.dataset), input.name, input.spec)
      ctx.events.emit('data.changed', { dataset: split.dataset, change: 'split' })
      return split
    },
  }),

  'data.splits.list': defineOperation({
    summary: 'The split specs recorded for a version',
    input: Ref.strict(),
    output: z.object({ splits: z.array(SplitView) }),
    handler: (input, ctx) => ({ splits: listSplitsOf(ctx, findVersionRecord(ctx, input.dataset)) }),
  }),

  'data.preview': defineOperation({
    summary: 'A page of rows of a version, optionally sorted and filtered',
    input: z
      .object({
        dataset: z.string().min(1),
        offset: z.number().int().min(0).default(0),
        limit: z.number().int().min(1).max(1000).default(100),
        sort: z.object({ column: z.string(), descending: z.boolean().default(false) }).optional(),
        filters: z.array(PreviewFilter).max(20).default([]),
      })
      .strict(),
    output: z.object({
      dataset: z.string(),
      version: z.number(),
      columns: z.array(Column),
      rows: z.array(z.record(z.string(), z.unknown())),
      offset: z.number(),
      total: z.number(),
    }),
    handler: (input, ctx) => previewVersion(ctx, findVersionRecord(ctx, input.dataset), input),
  }),

  'data.export': defineOperation({
    summary:
      'Write a version to a CSV or Parquet file (format from the extension unless given); with download, to a file the browser ' +
      'then fetches once from GET /api/v1/downloads/<download>',
    input: z
      .object({
        dataset: z.string().min(1),
        path: z.string().min(1).optional(),
        download: z.boolean().default(false),
        format: z.enum(['csv', 'parquet']).optional(),
      })
      .strict(),
    output: z.object({
      dataset: z.string(),
      version: z.number(),
      path: z.string().optional(),
      download: z.string().optional(),
      fileName: z.string(),
      format: z.enum(['csv', 'parquet']),
      rows: z.number(),
    }),
    handler: async (input, ctx) => {
      const record = findVersionRecord(ctx, input.dataset)
      if (input.download === (input.path !== undefined)) {
        throw new LatheError('bad_request', 'give a path to write the export to, or download: true for a browser to fetch it', { field: 'path' })
      }
      if (!input.download) {
        const written = await exportVersion(ctx, record, input.path!, input.format)
        return { ...written, fileName: path.basename(written.path) }
      }
      const format = input.format ?? 'csv'
      const { download, file } = newDownloadPath(ctx.workspace.tmpDir, format, randomUUID())
      const written = await exportVersion(ctx, record, file, format)
      return {
        dataset: written.dataset,
        version: written.version,
        download,
        fileName: `${record.name}-v${record.version}.${format}`,
        format,
        rows: written.rows,
      }
    },
  }),

  'data.dependents': defineOperation({
    summary: 'What depends on a version (name@V) or a dataset (name): derived versions, runs, model versions, monitors; and whether it can be deleted',
    input: Ref.strict(),
    output: DependentsView,
    handler: (input, ctx) => describeDependents(ctx, input.dataset),
  }),

  'data.delete': defineOperation({
    summary:
      'Delete a version (name@V) or a dataset (name) that nothing depends on, with its object, splits and profile; ' +
      'refused with the list of dependents otherwise (archive it instead)',
    input: Ref.strict(),
    output: z.object({ dataset: z.string(), deleted: z.array(z.number()), datasetDeleted: z.boolean(), objectsRemoved: z.number() }),
    handler: (input, ctx) => deleteDatasetRef(ctx, input.dataset),
  }),

  'data.archive': defineOperation({
    summary: 'Archive a version (name@V) or a dataset (name): hidden from lists, still readable by name@V; restore: true brings it back',
    input: z.object({ dataset: z.string().min(1), restore: z.boolean().default(false) }).strict(),
    output: z.object({ dataset: z.string(), versions: z.array(z.number()), archived: z.boolean(), wholeDataset: z.boolean() }),
    handler: (input, ctx) => archiveDatasetRef(ctx, input.dataset, input.restore),
  }),
})

export const dataEvents = defineEvents({
  'data.import.progress': z.object({
    dataset: z.string(),
    phase: z.enum(['hashing', 'reading', 'converting', 'validating', 'storing', 'done']),
    /** Of the whole import, 0..1. */
    fraction: z.number().min(0).max(1),
  }),
  /** A dataset's versions, rules, validation or splits changed (not an import: its progress says so). */
  'data.changed': z.object({ dataset: z.string(), change: z.enum(['archived', 'restored', 'deleted', 'rules', 'validated', 'split']) }),
})

// Typed emit and subscribe: the bus knows these topics' payloads.
declare module '../api/events.js' {
  interface EventPayloadMap extends EventPayloadsOf<typeof dataEvents> {}
}
