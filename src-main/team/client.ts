import fsp from 'node:fs/promises'
import http from 'node:http'
import https from 'node:https'
import { LatheError, type LatheErrorBody, type LatheErrorCode } from '../engine/api/common/errors.js'
import { hashFile } from '../engine/workspace/index.js'

export const CHUNK_BYTES = 8 * 1024 * 1024

export interface TeamClientOptions {
  /** Sent as Lathe-Client-Id and recorded in the audit log. */
  clientId?: string
  fetch?: typeof fetch
}

export interface UploadReport {
  sha256: string
  size: number
  /** Bytes this client put on the wire, counting any sent again after a cut. */
  bytesSent: number
  /** True when the server had the blob already (nothing was sent). */
  existed: boolean
}

interface UploadStateBody {
  id: string
  offset: number
  size: number
  complete: boolean
}

/**
 * A client for the team server's blob routes: HEAD, ranged GET and resumable upload.
 * `uploadFile` survives cuts: after a failed chunk it asks the server for the offset
 * and goes on from there, so at most the bytes in flight are sent twice.
 */
export class TeamBlobClient {
  private readonly fetch: typeof fetch

  constructor(
    readonly baseUrl: string,
    protected readonly token: string,
    private readonly options: TeamClientOptions = {},
  ) {
    this.fetch = options.fetch ?? fetch
  }

  private headers(extra: Record<string, string> = {}): Record<string, string> {
    const h: Record<string, string> = { authorization: `Bearer ${this.token}`, ...extra }
    if (this.options.clientId) h['lathe-client-id'] = this.options.clientId
    h['lathe-client-time'] = new Date().toISOString()
    return h
  }

  private async fail(response: Response, what: string): Promise<never> {
    throw errorFrom(response.status, await response.text().catch(() => ''), what)
  }

  /** The blob's size, or null when the server does not have it. */
  async headBlob(sha256: string): Promise<number | null> {
    const response = await this.fetch(`${this.baseUrl}/blobs/sha256/${sha256}`, { method: 'HEAD', headers: this.headers() })
    if (response.status === 404) return null
    if (!response.ok) return this.fail(response, `HEAD blob ${sha256}`)
    return Number(response.headers.get('content-length'))
  }

  async getBlob(sha256: string, range?: { start: number; end?: number }): Promise<Buffer> {
    const extra: Record<string, string> = range ? { range: `bytes=${range.start}-${range.end ?? ''}` } : {}
    const response = await this.fetch(`${this.baseUrl}/blobs/sha256/${sha256}`, { headers: this.headers(extra) })
    if (!response.ok) return this.fail(response, `GET blob ${sha256}`)
    return Buffer.from(await response.arrayBuffer())
  }

  async createUpload(project: string, sha256: string, size: number): Promise<UploadStateBody> {
    const response = await this.fetch(`${this.baseUrl}/blobs/uploads`, {
      method: 'POST',
      headers: this.headers({ 'content-type': 'application/json' }),
      body: JSON.stringify({ project, sha256, size }),
    })
    if (!response.ok) return this.fail(response, `creating the upload of ${sha256}`)
    return (await response.json()) as UploadStateBody
  }

  /** The server's offset for an upload; null when it is gone (finished, expired). */
  async uploadOffset(id: string): Promise<number | null> {
    const response = await this.fetch(`${this.baseUrl}/blobs/uploads/${id}`, { method: 'HEAD', headers: this.headers() })
    if (response.status === 404) return null
    if (!response.ok) return this.fail(response, `HEAD upload ${id}`)
    return Number(response.headers.get('upload-offset'))
  }

  /**
   * Sends bytes at an offset. Over node:http rather than fetch: undici feeds a large
   * Uint8Array body through a web stream in small pieces, 5x slower for 8 MiB chunks.
   */
  async patch(id: string, offset: number, data: Uint8Array): Promise<UploadStateBody> {
    const url = new URL(`${this.baseUrl}/blobs/uploads/${id}`)
    const what = `sending bytes ${offset}-${offset + data.length} of upload ${id}`
    const headers = {
      ...this.headers({ 'content-type': 'application/offset+octet-stream', 'upload-offset': String(offset) }),
      'content-length': String(data.length),
    }
    return new Promise((resolve, reject) => {
      const request = (url.protocol === 'https:' ? https : http).request(url, { method: 'PATCH', headers }, (response) => {
        const chunks: Buffer[] = []
        response.on('data', (chunk: Buffer) => chunks.push(chunk))
        response.on('error', reject)
        response.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8')
          const status = response.statusCode ?? 0
          if (status >= 200 && status < 300) {
            try {
              resolve(JSON.parse(text) as UploadStateBody)
            } catch (error) {
              reject(error)
            }
          } else {
            reject(errorFrom(status, text, what))
          }
        })
      })
      request.on('error', reject)
      request.end(data)
    })
  }

  /**
   * Uploads a file unless the server has it. A chunk refused for its offset, or cut,
   * is followed by a HEAD and a resume from the server's offset; another client
   * finishing the same blob first ends this one as `existed`.
   */
  async uploadFile(
    project: string,
    file: string,
    options: { sha256?: string; chunkBytes?: number; retries?: number; onProgress?: (offset: number, size: number) => void } = {},
  ): Promise<UploadReport> {
    const size = (await fsp.stat(file)).size
    const sha256 = options.sha256 ?? (await hashFile(file))
    const chunkBytes = options.chunkBytes ?? CHUNK_BYTES
    let retries = options.retries ?? 5
    let bytesSent = 0
    let state = await this.createUpload(project, sha256, size)
    if (state.complete) return { sha256, size, bytesSent, existed: true }
    let offset = state.offset
    const fh = await fsp.open(file, 'r')
    try {
      const buffer = Buffer.allocUnsafe(Math.min(chunkBytes, size))
      while (offset < size) {
        const length = Math.min(chunkBytes, size - offset)
        const { bytesRead } = await fh.read(buffer, 0, length, offset)
        try {
          bytesSent += bytesRead
          state = await this.patch(state.id, offset, buffer.subarray(0, bytesRead))
          offset = state.offset
          options.onProgress?.(offset, size)
          if (state.complete) break
        } catch (error) {
          if (retries-- <= 0) throw error
          const now = await this.uploadOffset(state.id).catch(() => undefined)
          if (now === null) {
            // Finished by someone else, or expired: either the blob is there or we start over.
            if ((await this.headBlob(sha256)) === size) return { sha256, size, bytesSent, existed: true }
            state = await this.createUpload(project, sha256, size)
            if (state.complete) return { sha256, size, bytesSent, existed: true }
            offset = state.offset
          } else if (now !== undefined) {
            offset = now
          }
        }
      }
    } finally {
      await fh.close()
    }
    return { sha256, size, bytesSent, existed: false }
  }
}

function errorFrom(status: number, text: string, what: string): LatheError {
  let body: { error?: LatheErrorBody } = {}
  try {
    body = JSON.parse(text) as { error?: LatheErrorBody }
  } catch {
    // Not JSON (a proxy's page): the status says enough.
  }
  const code: LatheErrorCode = body.error?.code ?? (status === 401 ? 'unauthorized' : status === 403 ? 'forbidden' : 'unavailable')
  return new LatheError(code, `${what}: ${body.error?.message ?? `HTTP ${status}`}`, { details: body.error?.details })
}
