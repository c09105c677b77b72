import { createHash, randomUUID, type Hash } from 'node:crypto'
import fs from 'node:fs'
import fsp from 'node:fs/promises'
import { LatheError } from '../engine/api/common/errors.js'
import { appendAudit, recordAudit, type AuditActor } from './audit.js'
import { BlobMismatch, EMPTY_SHA256, SHA256_HEX, type BlobStore } from './blobs.js'
import { inTransaction, type Db } from './db.js'

export interface UploadState {
  id: string
  sha256: string
  size: number
  offset: number
  /** True when the blob is stored: nothing (more) to send. */
  complete: boolean
  expiresAt: string | null
}

export interface UploadOptions {
  /** An upload untouched this long is removed with its bytes. */
  ttlMs: number
  maxBlobBytes: number
}

interface UploadRow {
  id: string
  sha256: string
  size: string
  received: string
  project: string
  expires_at: Date
}

/** What a PATCH did; `aborted` when the client went away mid-chunk (what arrived is kept). */
export interface AppendResult extends UploadState {
  aborted: boolean
}

// Small enough that a cut loses little, large enough that 1 GiB is a few thousand writes.
const WRITE_BATCH = 256 << 10

/**
 * Resumable uploads in the tus manner. One upload per (sha256, size), so a second
 * client creating it gets the same one; a PATCH appends at `Upload-Offset` and is
 * refused with the server's offset when that is not where the upload stands. The
 * offset is stored only after the bytes are fsynced, so after a crash the file is cut
 * back to it. The SHA-256 is computed while bytes arrive; when the server has not
 * seen them all (it restarted), the finished file is hashed again.
 */
export class Uploads {
  /** The PATCH writing each upload now; a HEAD waits for it, so the offset it reports is where the upload really stands. */
  private readonly busy = new Map<string, Promise<unknown>>()
  private readonly hashers = new Map<string, { offset: number; hash: Hash }>()

  constructor(
    private readonly db: Db,
    private readonly blobs: BlobStore,
    private readonly options: UploadOptions,
  ) {}

  private expiry(): Date {
    return new Date(Date.now() + this.options.ttlMs)
  }

  async create(actor: AuditActor, project: string, sha256: string, size: number): Promise<UploadState & { created: boolean }> {
    if (!SHA256_HEX.test(sha256)) throw new LatheError('bad_request', `sha256 "${sha256}" is not 64 lowercase hex digits`, { field: 'sha256' })
    if (!Number.isSafeInteger(size) || size < 0) throw new LatheError('bad_request', `size ${size} is not a whole number of bytes`, { field: 'size' })
    if (size > this.options.maxBlobBytes) {
      throw new LatheError('too_large', `a blob of ${size} bytes is larger than this server takes (${this.options.maxBlobBytes})`, { field: 'size' })
    }
    const existing = await this.blobs.size(sha256)
    if (existing !== null) {
      if (existing !== size) throw new LatheError('conflict', `blob ${sha256} is stored with ${existing} bytes, not ${size}`, { field: 'size' })
      await recordAudit(this.db, { actor, action: 'blob.upload', outcome: 'duplicate', project, target: sha256, detail: { size } })
      return { id: '', sha256, size, offset: size, complete: true, expiresAt: null, created: false }
    }
    if (size === 0) {
      if (sha256 !== EMPTY_SHA256) throw new LatheError('bad_request', `an empty blob's SHA-256 is ${EMPTY_SHA256}, not ${sha256}`, { field: 'sha256' })
      const staged = this.blobs.partPath(randomUUID())
      await fsp.writeFile(staged, '')
      await this.land(actor, project, staged, sha256, 0, EMPTY_SHA256)
      return { id: '', sha256, size, offset: 0, complete: true, expiresAt: null, created: true }
    }
    const id = randomUUID()
    const inserted = await this.db.query<UploadRow>(
      `INSERT INTO uploads (id, sha256, size, created_by, project, expires_at) VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (sha256, size) DO UPDATE SET expires_at = excluded.expires_at, updated_at = now()
       RETURNING id, sha256, size, received, project, expires_at`,
      [id, sha256, size, actor.userId, project, this.expiry()],
    )
    const row = inserted.rows[0]!
    const fh = await fsp.open(this.blobs.partPath(row.id), fs.constants.O_RDWR | fs.constants.O_CREAT, 0o600)
    await fh.close()
    return { ...stateOf(row), created: row.id === id }
  }

  async status(id: string): Promise<UploadState> {
    await this.busy.get(id)?.catch(() => {})
    return stateOf(await this.row(id))
  }

  private async row(id: string): Promise<UploadRow> {
    if (!/^[0-9a-f-]{36}$/.test(id)) throw new LatheError('not_found', `no upload "${id}"`, { field: 'id' })
    const { rows } = await this.db.query<UploadRow>('SELECT id, sha256, size, received, project, expires_at FROM uploads WHERE id = $1', [id])
    if (!rows[0]) {
      throw new LatheError('not_found', `no upload ${id}: it finished (HEAD /blobs/sha256/<hash> to check), expired or never existed`, { field: 'id' })
    }
    return rows[0]
  }

  /** The project an upload was created for, so the route can check the caller's role there. */
  async projectOf(id: string): Promise<string> {
    return (await this.row(id)).project
  }

  async append(actor: AuditActor, id: string, offset: number, body: AsyncIterable<Buffer>, contentLength: number | null): Promise<AppendResult> {
    const row = await this.row(id)
    const size = Number(row.size)
    const received = Number(row.received)
    if (this.busy.has(id)) {
      throw new LatheError('conflict', `upload ${id} is being written by another request; HEAD it for the offset and retry`, {
        field: 'Upload-Offset',
        details: { offset: received },
      })
    }
    if (offset !== received) {
      throw new LatheError('conflict', `Upload-Offset ${offset} is not where upload ${id} stands (${received}); resume from ${received}`, {
        field: 'Upload-Offset',
        details: { offset: received },
      })
    }
    if (contentLength !== null && contentLength > size - received) {
      throw new LatheError('too_large', `this chunk of ${contentLength} bytes runs past the declared size (${size - received} bytes remain)`, { field: 'Content-Length' })
    }
    const work = this.write(actor, row, body)
    this.busy.set(id, work)
    try {
      return await work
    } finally {
      this.busy.delete(id)
    }
  }

  private async write(actor: AuditActor, row: UploadRow, body: AsyncIterable<Buffer>): Promise<AppendResult> {
    const id = row.id
    const size = Number(row.size)
    const received = Number(row.received)
    {
      const known = this.hashers.get(id)
      let hasher: Hash | null = known && known.offset === received ? known.hash : received === 0 ? createHash('sha256') : null
      this.hashers.delete(id)
      let position = received
      let aborted = false
      let overflow = false
      const fh = await fsp.open(this.blobs.partPath(id), fs.constants.O_RDWR | fs.constants.O_CREAT, 0o600)
      try {
        // Bytes past the recorded offset were never acknowledged (a crash mid-chunk).
        await fh.truncate(received)
        let pending: Buffer[] = []
        let pendingBytes = 0
        const flush = async () => {
          if (!pendingBytes) return
          const data = pending.length === 1 ? pending[0]! : Buffer.concat(pending, pendingBytes)
          pending = []
          pendingBytes = 0
          let done = 0
          while (done < data.length) done += (await fh.write(data, done, data.length - done, position + done)).bytesWritten
          position += data.length
        }
        try {
          for await (const chunk of body) {
            const room = size - position - pendingBytes
            const take = chunk.length > room ? chunk.subarray(0, room) : chunk
            if (take.length) {
              hasher?.update(take)
              pending.push(take)
              pendingBytes += take.length
            }
            if (take.length < chunk.length) {
              overflow = true
              break
            }
            if (pendingBytes >= WRITE_BATCH) await flush()
          }
        } catch (error) {
          // The client went away mid-chunk: keep what arrived, so it resumes from there.
          aborted = true
          if (!isAbort(error)) throw error
        }
        await flush()
        await fh.datasync()
      } finally {
        await fh.close()
      }
      await this.db.query('UPDATE uploads SET received = $2, updated_at = now(), expires_at = $3 WHERE id = $1', [id, position, this.expiry()])
      if (hasher) this.hashers.set(id, { offset: position, hash: hasher })
      if (overflow) {
        throw new LatheError('too_large', `the chunk ran past the declared size of ${size} bytes; the first ${position - received} bytes were kept (offset now ${position})`, {
          field: 'Content-Length',
          details: { offset: position },
        })
      }
      if (position === size) {
        const digest = hasher ? hasher.digest('hex') : null
        this.hashers.delete(id)
        await this.finish(actor, row, digest)
        return { ...stateOf(row), offset: size, complete: true, expiresAt: null, aborted }
      }
      return { ...stateOf(row), offset: position, aborted }
    }
  }

  private async finish(actor: AuditActor, row: UploadRow, digest: string | null): Promise<void> {
    const part = this.blobs.partPath(row.id)
    try {
      await this.land(actor, row.project, part, row.sha256, Number(row.size), digest, row.id)
    } catch (error) {
      if (!(error instanceof BlobMismatch)) throw error
      await fsp.rm(part, { force: true })
      await inTransaction(this.db, async (tx) => {
        await tx.query('DELETE FROM uploads WHERE id = $1', [row.id])
        await appendAudit(tx, { actor, action: 'blob.upload', outcome: 'refused', project: row.project, target: row.sha256, detail: { reason: error.message } })
      })
      throw new LatheError('bad_request', `${error.message}: nothing was stored; create the upload again and send the right bytes`, { field: 'sha256' })
    }
  }

  private async land(actor: AuditActor, project: string, part: string, sha256: string, size: number, digest: string | null, uploadId?: string): Promise<void> {
    const outcome = await this.blobs.land(part, sha256, size, digest)
    await inTransaction(this.db, async (tx) => {
      if (uploadId) await tx.query('DELETE FROM uploads WHERE id = $1', [uploadId])
      await appendAudit(tx, { actor, action: 'blob.upload', outcome: outcome === 'landed' ? 'accepted' : 'duplicate', project, target: sha256, detail: { size } })
    })
  }

  /**
   * At start and then periodically: removes expired uploads and stray files, and cuts
   * each upload's file back to its recorded offset (a server killed mid-chunk wrote
   * bytes it never acknowledged). A file shorter than its offset (lost in a power cut)
   * moves the offset back instead.
   */
  async sweep({ atStart = false } = {}): Promise<{ expired: number; strays: number }> {
    const files = await fsp.readdir(this.blobs.uploadsDir).catch(() => [] as string[])
    const expired = await this.db.query<{ id: string }>('DELETE FROM uploads WHERE expires_at < now() AND NOT (id = ANY($1::uuid[])) RETURNING id', [
      [...this.busy.keys()],
    ])
    for (const { id } of expired.rows) {
      this.hashers.delete(id)
      await fsp.rm(this.blobs.partPath(id), { force: true })
    }
    const { rows } = await this.db.query<UploadRow>('SELECT id, sha256, size, received, project, expires_at FROM uploads')
    const live = new Set([...rows.map((r) => r.id), ...expired.rows.map((r) => r.id)])
    let strays = 0
    for (const name of files) {
      if (!live.has(name) && !this.busy.has(name)) {
        strays++
        await fsp.rm(this.blobs.partPath(name), { force: true })
      }
    }
    if (atStart) {
      for (const r of rows) {
        const part = this.blobs.partPath(r.id)
        const received = Number(r.received)
        const actual = await fsp.stat(part).then((s) => s.size, () => -1)
        if (actual < 0) {
          await fsp.writeFile(part, '', { mode: 0o600 })
          await this.db.query('UPDATE uploads SET received = 0 WHERE id = $1', [r.id])
        } else if (actual > received) {
          await fsp.truncate(part, received)
        } else if (actual < received) {
          await this.db.query('UPDATE uploads SET received = $2 WHERE id = $1', [r.id, actual])
        }
      }
    }
    return { expired: expired.rows.length, strays }
  }
}

function stateOf(row: UploadRow): UploadState {
  return { id: row.id, sha256: row.sha256, size: Number(row.size), offset: Number(row.received), complete: false, expiresAt: row.expires_at.toISOString() }
}

function isAbort(error: unknown): boolean {
  const e = error as NodeJS.ErrnoException
  return e?.code === 'ECONNRESET' || e?.code === 'ERR_STREAM_PREMATURE_CLOSE' || e?.message === 'aborted'
}
