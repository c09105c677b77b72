import { createHash } from 'node:crypto'
import fs from 'node:fs'
import fsp from 'node:fs/promises'
import path from 'node:path'
import { strFromU8, strToU8, unzipSync, zipSync } from 'fflate'
import { z } from 'zod'
import { LatheError } from '../api/common/errors.js'
import { ModelSignature } from '../api/common/signature.js'
import type { EngineContext } from '../context.js'
import { getVersionById } from './store.js'
import { versionLineage } from './lineage.js'
import { findVersion } from './resolve.js'
import { addVersion, checkModelName, modelCardOf, toModelVersion } from './service.js'
import { DatasetRef, Metrics, VersionSource, type ModelVersion } from './types.js'

const FORMAT = 'lathe-model-package'

/** `manifest.json`: the version's identity and everything immutable about it. */
const Manifest = z.object({
  format: z.literal(FORMAT),
  formatVersion: z.literal(1),
  model: z.string(),
  version: z.number().int().positive(),
  versionId: z.string().min(1),
  onnxSha256: z.string().regex(/^[0-9a-f]{64}$/),
  source: VersionSource,
  runId: z.string().nullable(),
  dataset: DatasetRef.nullable(),
  split: z.unknown().nullable(),
  params: z.record(z.string(), z.unknown()).nullable(),
  metadata: z.record(z.string(), z.string()),
  description: z.string(),
  tags: z.record(z.string(), z.string()),
  intendedUse: z.string(),
  createdAt: z.string(),
  createdBy: z.string(),
  exportedAt: z.string(),
})

/**
 * Writes a version as a zip: model.onnx, manifest.json, signature.json,
 * preprocessing.json, metrics.json, lineage.json, model-card.md. Written to staging
 * and renamed, so the target is never half a zip.
 */
export async function exportVersion(
  ctx: EngineContext,
  model: string,
  selector: string,
  file?: string,
  format: 'package' | 'onnx' = 'package',
): Promise<{ file: string | null; fileName: string; bytes: number; content?: string }> {
  const { row } = findVersion(ctx, model, selector)
  const onnxBytes = await ctx.workspace.objects.read(row.onnxSha256)
  // The bare ONNX graph (preprocessing inside for Lathe's own models): what onnxruntime anywhere loads.
  if (format === 'onnx') return writeOut(onnxBytes, `${row.model}-v${row.version}.onnx`, file)
  const manifest: z.infer<typeof Manifest> = {
    format: FORMAT,
    formatVersion: 1,
    model: row.model,
    version: row.version,
    versionId: row.versionId,
    onnxSha256: row.onnxSha256,
    source: row.source,
    runId: row.runId,
    dataset: row.dataset,
    split: row.split,
    params: row.params,
    metadata: row.metadata,
    description: row.description,
    tags: row.tags,
    intendedUse: row.intendedUse,
    createdAt: row.createdAt,
    createdBy: row.createdBy,
    exportedAt: new Date().toISOString(),
  }
  const asJson = (v: unknown) => strToU8(`${JSON.stringify(v, null, 2)}\n`)
  const zip = zipSync({
    'manifest.json': asJson(manifest),
    'model.onnx': [onnxBytes, { level: 0 }],
    'signature.json': asJson(row.signature),
    'preprocessing.json': asJson(row.preprocessing),
    'metrics.json': asJson(row.metrics),
    'lineage.json': asJson(versionLineage(ctx, model, String(row.version))),
    'model-card.md': strToU8(modelCardOf(ctx, model, String(row.version)).markdown),
  })
  return writeOut(zip, `${row.model}-v${row.version}.zip`, file)
}

/** To `file` (staged, then renamed), or back as base64 for a browser download. */
async function writeOut(zip: Uint8Array, fileName: string, file?: string): Promise<{ file: string | null; fileName: string; bytes: number; content?: string }> {
  if (file === undefined) return { file: null, fileName, bytes: zip.length, content: Buffer.from(zip).toString('base64') }
  const target = path.resolve(file)
  const staged = path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}.partial`)
  try {
    await fsp.writeFile(staged, zip)
    await fsp.rename(staged, target)
  } catch (error) {
    await fsp.rm(staged, { force: true })
    throw new LatheError('bad_request', `cannot write ${target}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, { field: 'file' })
  }
  return { file: target, fileName: path.basename(target), bytes: zip.length }
}

/**
 * Imports a package exported by any workspace, keeping the version's id, number and
 * ONNX hash. Importing the same package again returns the version already there.
 */
export async function importPackage(
  ctx: EngineContext,
  from: { file?: string; content?: string; fileName?: string },
  rename?: string,
): Promise<{ version: ModelVersion; created: boolean }> {
  if ((from.file === undefined) === (from.content === undefined)) {
    throw new LatheError('bad_request', 'give either file (a path to a .zip package) or content (the package, base64, with fileName)', { field: 'file' })
  }
  const what = from.file !== undefined ? path.basename(from.file) : (from.fileName ?? 'the uploaded package')
  if (from.file !== undefined && !fs.existsSync(from.file)) throw new LatheError('not_found', `no file ${from.file}`, { field: 'file' })
  let entries: Record<string, Uint8Array>
  try {
    entries = unzipSync(from.file !== undefined ? await fsp.readFile(from.file) : Buffer.from(from.content!, 'base64'))
  } catch (error) {
    throw new LatheError('bad_request', `${what} is not a zip file: ${(error as Error).message}`, { field: 'file' })
  }
  const need = (name: string) => {
    const entry = entries[name]
    if (!entry) throw new LatheError('bad_request', `${what} is not a Lathe model package: it has no ${name}`, { field: 'file' })
    return entry
  }
  const readJson = (name: string) => {
    try {
      return JSON.parse(strFromU8(need(name)))
    } catch (error) {
      if (error instanceof LatheError) throw error
      throw new LatheError('bad_request', `${what}: ${name} is not valid JSON`, { field: name })
    }
  }
  const parsedManifest = Manifest.safeParse(readJson('manifest.json'))
  if (!parsedManifest.success) {
    const issue = parsedManifest.error.issues[0]!
    throw new LatheError('bad_request', `${what}: manifest.json ${issue.path.join('.')}: ${issue.message}`, { field: 'manifest.json' })
  }
  const manifest = parsedManifest.data
  const signature = ModelSignature.safeParse(readJson('signature.json'))
  if (!signature.success) throw new LatheError('bad_request', `${what}: signature.json does not describe a model signature`, { field: 'signature.json' })
  const metrics = Metrics.safeParse(readJson('metrics.json'))
  if (!metrics.success) throw new LatheError('bad_request', `${what}: metrics.json is not a map of metric names to numbers`, { field: 'metrics.json' })
  const onnxBytes = need('model.onnx')
  const actual = createHash('sha256').update(onnxBytes).digest('hex')
  if (actual !== manifest.onnxSha256) {
    throw new LatheError(
      'bad_request',
      `${what}: model.onnx does not match the manifest (sha256 ${actual}, expected ${manifest.onnxSha256}); the package is damaged`,
      {
        field: 'model.onnx',
      },
    )
  }

  const existing = getVersionById(ctx.workspace.db, manifest.versionId)
  if (existing) {
    if (existing.onnxSha256 !== manifest.onnxSha256) {
      throw new LatheError('conflict', `${what}: version id ${manifest.versionId} already exists here with a different model`, { field: 'file' })
    }
    return { version: toModelVersion(ctx, existing), created: false }
  }
  const name = checkModelName(rename ?? manifest.model)
  const { sha256 } = await ctx.workspace.objects.putBuffer(onnxBytes)
  const card = strFromU8(entries['model-card.md'] ?? new Uint8Array())
  const lineage = entries['lineage.json'] ? strFromU8(entries['lineage.json']) : null
  const version = addVersion(
    ctx,
    name,
    {
      onnxSha256: sha256,
      signature: signature.data,
      preprocessing: readJson('preprocessing.json'),
      metrics: metrics.data,
      params: manifest.params,
      runId: manifest.runId,
      dataset: manifest.dataset,
      split: manifest.split,
      source: 'package',
      metadata: {
        ...manifest.metadata,
        'package.source': manifest.source,
        'package.exported_at': manifest.exportedAt,
        ...(lineage ? { 'package.lineage': lineage } : {}),
      },
      description: manifest.description,
      tags: manifest.tags,
      intendedUse: manifest.intendedUse,
      // The card travels as text people may have edited: it arrives as the stored card.
      card: card || undefined,
    },
    { versionId: manifest.versionId, version: manifest.version, createdAt: manifest.createdAt, createdBy: manifest.createdBy },
  )
  return { version, created: true }
}
