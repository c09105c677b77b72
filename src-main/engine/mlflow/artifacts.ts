import fs from 'node:fs'
import fsp from 'node:fs/promises'
import type { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type { EngineContext } from '../context.js'
import * as store from './store.js'
import { requireRun, runArtifactRoot } from './runs.js'
import { invalid, missing, optString, pageOffset, runIdOf, type Message } from './wire.js'

/**
 * MLflow's artifact proxy on the object store: a file PUT under
 * `/api/2.0/mlflow-artifacts/artifacts/<path>` is streamed to staging, moved into
 * `objects/` by hash, and indexed by its path; a GET streams it back. Paths are
 * checked before anything is written: no empty, `.` or `..` segment, no backslash.
 */

export function checkArtifactPath(raw: string, field = 'path'): string {
  const path = raw.replace(/^\/+/, '').replace(/\/+$/, '')
  if (path === '') return ''
  const parts = path.split('/')
  for (const part of parts) {
    if (part === '' || part === '.' || part === '..' || part.includes('\\') || part.includes('\u0000')) {
      throw invalid(`Invalid artifact path '${raw}' in ${field}: it must be relative, with no empty, '.' or '..' segment and no backslash`)
    }
  }
  return parts.join('/')
}

/** Whether a path lies under a run's or a logged model's artifact root that exists. */
function requireOwner(ctx: EngineContext, path: string): void {
  const parts = path.split('/')
  const db = ctx.workspace.db
  if (parts.length >= 4 && parts[2] === 'artifacts') {
    const run = store.getRunRow(db, parts[1]!)
    if (run && String(run.experimentId) === parts[0]) return
  }
  if (parts.length >= 5 && parts[1] === 'models' && parts[3] === 'artifacts') {
    const model = store.getLoggedModel(db, parts[2]!)
    if (model && String(model.experimentId) === parts[0]) return
  }
  throw invalid(
    `Artifact path '${path}' is not under a run's or a logged model's artifacts: expected <experiment>/<run_id>/artifacts/<file> or <experiment>/models/<model_id>/artifacts/<file>`,
  )
}

export async function putArtifact(ctx: EngineContext, rawPath: string, body: Readable, contentType: string | undefined): Promise<void> {
  const path = checkArtifactPath(rawPath)
  if (!path) throw invalid('An artifact upload needs a file path after /artifacts/')
  requireOwner(ctx, path)
  const staged = ctx.workspace.objects.stagingPath('.upload')
  try {
    await pipeline(body, fs.createWriteStream(staged))
  } catch (error) {
    await fsp.rm(staged, { force: true })
    throw error
  }
  const { sha256, bytes } = await ctx.workspace.objects.commit(staged)
  store.putArtifact(ctx.workspace.db, { path, sha256, size: bytes, contentType: contentType || 'application/octet-stream' }, new Date().toISOString())
}

export function artifactFile(ctx: EngineContext, rawPath: string): store.ArtifactRow & { file: string } {
  const path = checkArtifactPath(rawPath)
  const row = path ? store.getArtifact(ctx.workspace.db, path) : null
  if (!row) throw missing(`No artifact at '${rawPath}'`)
  return { ...row, file: ctx.workspace.objects.pathOf(row.sha256) }
}

export interface FileInfo {
  path: string
  is_dir: boolean
  file_size?: number
}

/** The direct children of a folder (files and sub-folders), as `relative` names them. */
export function listFolder(ctx: EngineContext, folder: string, relative: (childPath: string) => string): FileInfo[] {
  const rows = store.artifactsUnder(ctx.workspace.db, folder)
  const start = folder ? folder.length + 1 : 0
  const seen = new Map<string, FileInfo>()
  for (const row of rows) {
    const rest = row.path.slice(start)
    const slash = rest.indexOf('/')
    const name = slash < 0 ? rest : rest.slice(0, slash)
    const child = folder ? `${folder}/${name}` : name
    if (seen.has(name)) continue
    seen.set(name, slash < 0 ? { path: relative(child), is_dir: false, file_size: row.size } : { path: relative(child), is_dir: true })
  }
  return [...seen.values()]
}

/** `GET /api/2.0/mlflow-artifacts/artifacts?path=`: base names, and `{}` for an empty folder. */
export function listProxy(ctx: EngineContext, m: Message) {
  const folder = checkArtifactPath(optString(m, 'path') ?? '')
  const files = listFolder(ctx, folder, (child) => child.slice(child.lastIndexOf('/') + 1))
  return files.length ? { files } : {}
}

/** `GET /api/2.0/mlflow/artifacts/list`: paths relative to the run's artifact root. */
export function listRunArtifacts(ctx: EngineContext, m: Message) {
  const run = requireRun(ctx, runIdOf(m))
  const root = runArtifactRoot(run)
  const sub = checkArtifactPath(optString(m, 'path') ?? '')
  pageOffset(optString(m, 'page_token'))
  const files = listFolder(ctx, sub ? `${root}/${sub}` : root, (child) => child.slice(root.length + 1))
  return files.length ? { root_uri: `mlflow-artifacts:/${root}`, files } : { root_uri: `mlflow-artifacts:/${root}` }
}

export function deleteArtifact(ctx: EngineContext, rawPath: string): void {
  const path = checkArtifactPath(rawPath)
  if (!path) throw invalid('An artifact delete needs a path after /artifacts/')
  if (store.deleteArtifact(ctx.workspace.db, path) === 0) throw missing(`No artifact at '${rawPath}'`)
}
