import fs from 'node:fs'
import fsp from 'node:fs/promises'
import path from 'node:path'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { LatheError, type LatheErrorCode } from '../api/common/errors.js'
import { hashFile, type ObjectStore } from '../workspace/index.js'

/** The team server's upload chunk: a cut re-sends at most this much. */
export const CHUNK_BYTES = 8 * 1024 * 1024

export interface TeamConnection {
  url: string
  token: string
  project: string
}

/**
 * The workspace's HTTP client for one team server: bearer token and client id on every
 * request; a refused token or role, or an unreachable server, becomes a LatheError that
 * says what to do. Blobs go up through the resumable upload and come down with Range.
 */
export class TeamClient {
  constructor(
    readonly connection: TeamConnection,
    readonly clientId: string,
  ) {}

  async request(method: string, route: string, options: { json?: unknown; body?: Buffer; headers?: Record<string, string> } = {}): Promise<Response> {
    const headers: Record<string, string> = {
      authorization: `Bearer ${this.connection.token}`,
      'lathe-client-id': this.clientId,
      'lathe-client-time': new Date().toISOString(),
      'lathe-project': this.connection.project,
      ...options.headers,
    }
    let body: RequestInit['body']
    if (options.json !== undefined) {
      headers['content-type'] = 'application/json'
      body = JSON.stringify(options.json)
    } else if (options.body) {
      body = options.body as unknown as RequestInit['body']
    }
    let response: Response
    try {
      response = await fetch(new URL(route, this.connection.url), { method, headers, body })
    } catch (error) {
      const cause = (error as { cause?: { code?: string; message?: string } }).cause
      throw new LatheError(
        'unavailable',
        `cannot reach the team server at ${this.connection.url}: ${cause?.code ?? cause?.message ?? (error as Error).message}`,
      )
    }
    if (response.status === 401 || response.status === 403) {
      const message = await errorMessage(response)
      throw new LatheError(response.status === 401 ? 'unauthorized' : 'forbidden', `the team server refused: ${message}`)
    }
    return response
  }

  async json<T>(method: string, route: string, json?: unknown): Promise<T> {
    const response = await this.request(method, route, { json })
    if (!response.ok) {
      const message = await errorMessage(response)
      const code: LatheErrorCode = response.status >= 500 ? 'unavailable' : response.status === 404 ? 'not_found' : 'bad_request'
      throw new LatheError(code, `team server: ${method} ${route} answered ${response.status}: ${message}`)
    }
    return (await response.json()) as T
  }

  /** Uploads an object unless the server has it; resumes a cut upload from the server's offset. Returns bytes sent. */
  async uploadBlob(objects: ObjectStore, sha256: string, onBytes?: (n: number) => void): Promise<number> {
    const head = await this.request('HEAD', `/blobs/sha256/${sha256}`)
    if (head.ok) return 0
    const file = objects.pathOf(sha256)
    const { size } = await fsp.stat(file).catch(() => {
      throw new LatheError('not_found', `object ${sha256} is missing from this workspace's object store; it cannot be pushed`)
    })
    const created = await this.json<{ id: string | null; offset: number; complete: boolean }>('POST', '/blobs/uploads', {
      sha256,
      size,
      project: this.connection.project,
    })
    if (created.complete || !created.id) return 0
    let offset = created.offset
    let sent = 0
    let realigned = 0
    const handle = await fsp.open(file, 'r')
    try {
      while (offset < size) {
        const length = Math.min(CHUNK_BYTES, size - offset)
        const chunk = Buffer.alloc(length)
        await handle.read(chunk, 0, length, offset)
        const response = await this.request('PATCH', `/blobs/uploads/${created.id}`, {
          body: chunk,
          headers: { 'content-type': 'application/offset+octet-stream', 'upload-offset': String(offset) },
        })
        sent += length
        onBytes?.(length)
        if (response.status === 409 && realigned++ < 3) {
          // The server stands elsewhere (a cut chunk it kept part of landed after we asked): ask it where, go on from there.
          const head = await this.request('HEAD', `/blobs/uploads/${created.id}`)
          offset = Number(head.headers.get('upload-offset'))
          if (!Number.isSafeInteger(offset)) throw new LatheError('unavailable', `upload ${created.id}: the server gave no Upload-Offset`)
          continue
        }
        if (!response.ok) {
          const message = await errorMessage(response)
          throw new LatheError(response.status >= 500 ? 'unavailable' : 'bad_request', `uploading ${sha256} at ${offset}: ${message}`)
        }
        offset = Number(response.headers.get('upload-offset') ?? offset + length)
      }
    } finally {
      await handle.close()
    }
    return sent
  }

  /**
   * Fetches an object the workspace lacks into `partialDir` (kept across runs, unlike tmp/),
   * continuing a cut download with Range, then checks its hash and moves it into the store.
   */
  async downloadBlob(objects: ObjectStore, partialDir: string, sha256: string): Promise<void> {
    if (objects.has(sha256)) return
    await fsp.mkdir(partialDir, { recursive: true })
    const partial = path.join(partialDir, sha256)
    const have = fs.existsSync(partial) ? fs.statSync(partial).size : 0
    const response = await this.request('GET', `/blobs/sha256/${sha256}`, { headers: have > 0 ? { range: `bytes=${have}-` } : {} })
    if (response.status === 416) {
      await fsp.rm(partial, { force: true })
      return this.downloadBlob(objects, partialDir, sha256)
    }
    if (!response.ok) throw new LatheError('unavailable', `fetching object ${sha256}: ${response.status} ${await errorMessage(response)}`)
    // Streamed to the partial file as it arrives, so a cut keeps what came.
    const append = response.status === 206
    if (response.body) await pipeline(Readable.fromWeb(response.body as never), fs.createWriteStream(partial, { flags: append ? 'a' : 'w' }))
    const staged = objects.stagingPath()
    await fsp.copyFile(partial, staged)
    const actual = await hashFile(staged)
    if (actual !== sha256) {
      await fsp.rm(staged, { force: true })
      await fsp.rm(partial, { force: true })
      throw new LatheError('conflict', `object ${sha256} from the team server hashed to ${actual}; dropped, the next sync fetches it again`)
    }
    await objects.commit(staged)
    await fsp.rm(partial, { force: true })
  }
}

async function errorMessage(response: Response): Promise<string> {
  const text = await response.text().catch(() => '')
  try {
    const body = JSON.parse(text) as { error?: { message?: string } }
    return body.error?.message ?? text
  } catch {
    return text || response.statusText
  }
}
