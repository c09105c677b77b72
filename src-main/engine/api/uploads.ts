import fs from 'node:fs'
import path from 'node:path'
import { pipeline } from 'node:stream/promises'
import type { Readable } from 'node:stream'
import { LatheError } from './common/errors.js'

/**
 * Files a browser sends for an operation that needs one (a dataset import): streamed
 * to the workspace's tmp folder as they arrive, so their size is bounded by the disk,
 * not by a JSON body. An upload is named by an id the operation then takes
 * (`data.import { upload }`); the operation removes the file when it is done.
 */
const UPLOAD_ID = /^upload-[0-9a-f-]{36}(\.[A-Za-z0-9]{1,10})?$/

export async function receiveUpload(tmpDir: string, fileName: string, body: Readable, id: string): Promise<{ upload: string; bytes: number }> {
  const ext = path
    .extname(fileName)
    .replace(/[^.A-Za-z0-9]/g, '')
    .slice(0, 11)
  const upload = `upload-${id}${ext}`
  const partial = path.join(tmpDir, `${upload}.partial`)
  let bytes = 0
  body.on('data', (chunk: Buffer) => (bytes += chunk.length))
  try {
    await pipeline(body, fs.createWriteStream(partial))
    // Only a whole file carries the upload's name.
    fs.renameSync(partial, path.join(tmpDir, upload))
  } catch (error) {
    fs.rmSync(partial, { force: true })
    throw new LatheError('bad_request', `the upload of ${fileName} stopped before the end: ${(error as Error).message}`, { field: 'file' })
  }
  return { upload, bytes }
}

/** The path of a finished upload, refusing anything that is not an upload id of this engine. */
export function uploadPath(tmpDir: string, upload: string): string {
  if (!UPLOAD_ID.test(upload)) throw new LatheError('bad_request', `"${upload}" is not an upload id`, { field: 'upload' })
  const file = path.join(tmpDir, upload)
  if (!fs.existsSync(file))
    throw new LatheError('not_found', 'that upload is gone (it was imported already, or the engine restarted): send the file again', { field: 'upload' })
  return file
}

/**
 * Files an operation makes for a browser to save (a dataset export): written to tmp/ under
 * a download id, fetched once with `GET /api/v1/downloads/<id>`, then removed.
 */
const DOWNLOAD_ID = /^download-[0-9a-f-]{36}\.[a-z]{1,10}$/

export function newDownloadPath(tmpDir: string, extension: string, id: string): { download: string; file: string } {
  const download = `download-${id}.${extension.replace(/[^a-z]/g, '').slice(0, 10)}`
  return { download, file: path.join(tmpDir, download) }
}

export function downloadPath(tmpDir: string, download: string): string {
  if (!DOWNLOAD_ID.test(download)) throw new LatheError('bad_request', `"${download}" is not a download id`, { field: 'download' })
  const file = path.join(tmpDir, download)
  if (!fs.existsSync(file))
    throw new LatheError('not_found', 'that download is gone (it was saved already, or the engine restarted): export again', { field: 'download' })
  return file
}
