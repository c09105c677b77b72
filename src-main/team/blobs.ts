import { createHash } from 'node:crypto'
import fs from 'node:fs'
import fsp from 'node:fs/promises'
import path from 'node:path'
import { LatheError } from '../engine/api/common/errors.js'
import { ObjectStore, hashFile, isProcessAlive } from '../engine/workspace/index.js'

export const SHA256_HEX = /^[0-9a-f]{64}$/
export const EMPTY_SHA256 = createHash('sha256').digest('hex')

/**
 * The server's blobs, in the workspace's content-addressed layout
 * (`DIR/sha256/ab/cdef...`), with uploads in progress under `DIR/uploads/`. A blob
 * lands only after its size and SHA-256 are checked and its bytes fsynced, by rename:
 * whole or absent.
 */
export class BlobStore {
  readonly objects: ObjectStore
  readonly uploadsDir: string

  constructor(readonly dir: string) {
    this.uploadsDir = path.join(dir, 'uploads')
    this.objects = new ObjectStore(dir, this.uploadsDir)
  }

  async prepare(): Promise<void> {
    await fsp.mkdir(path.join(this.dir, 'sha256'), { recursive: true })
    await fsp.mkdir(this.uploadsDir, { recursive: true })
  }

  pathOf(sha256: string): string {
    if (!SHA256_HEX.test(sha256)) throw new LatheError('bad_request', `"${sha256}" is not a SHA-256 (64 lowercase hex digits)`, { field: 'sha256' })
    return this.objects.pathOf(sha256)
  }

  async size(sha256: string): Promise<number | null> {
    try {
      return (await fsp.stat(this.pathOf(sha256))).size
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null
      throw error
    }
  }

  partPath(uploadId: string): string {
    return path.join(this.uploadsDir, uploadId)
  }

  /**
   * Moves a finished upload into place after checking it. `digest` is the SHA-256
   * computed while the bytes arrived, when the server saw all of them; otherwise the
   * file is hashed again. Returns 'existed' when another upload landed it first.
   */
  async land(partFile: string, sha256: string, size: number, digest: string | null): Promise<'landed' | 'existed'> {
    const { size: actualSize } = await fsp.stat(partFile)
    if (actualSize !== size) throw new BlobMismatch(`the upload holds ${actualSize} bytes, not the declared ${size}`)
    const actual = digest ?? (await hashFile(partFile))
    if (actual !== sha256) throw new BlobMismatch(`the uploaded bytes hash to ${actual}, not the declared ${sha256}`)
    const target = this.pathOf(sha256)
    if (fs.existsSync(target)) {
      await fsp.rm(partFile, { force: true })
      return 'existed'
    }
    const fh = await fsp.open(partFile, 'r')
    try {
      await fh.sync()
    } finally {
      await fh.close()
    }
    await fsp.chmod(partFile, 0o444)
    await fsp.mkdir(path.dirname(target), { recursive: true })
    await fsp.rename(partFile, target)
    await fsyncDir(path.dirname(target))
    return 'landed'
  }
}

/** The bytes do not match what the client declared: the client's mistake, and nothing lands. */
export class BlobMismatch extends Error {}

export async function fsyncDir(dir: string): Promise<void> {
  const fh = await fsp.open(dir, 'r')
  try {
    await fh.sync()
  } finally {
    await fh.close()
  }
}

/**
 * One server per objects folder: uploads in progress are coordinated in its memory.
 * A lock file names the holder's PID; one left by a killed server is taken over.
 */
export function lockObjectsDir(dir: string): () => void {
  const file = path.join(dir, '.team-server.lock')
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.writeFileSync(file, JSON.stringify({ pid: process.pid, startedAt: new Date().toISOString() }), { flag: 'wx' })
      return () => {
        try {
          const held = JSON.parse(fs.readFileSync(file, 'utf8')) as { pid: number }
          if (held.pid === process.pid) fs.rmSync(file, { force: true })
        } catch {
          // Already gone: nothing to release.
        }
      }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
      let pid = 0
      try {
        pid = (JSON.parse(fs.readFileSync(file, 'utf8')) as { pid: number }).pid
      } catch {
        // Half-written by a process that died while writing it: no live holder.
      }
      if (pid && pid !== process.pid && isProcessAlive(pid)) {
        throw new LatheError('in_use', `another team server (pid ${pid}) is using the objects folder ${dir}`, { field: 'objects' })
      }
      fs.rmSync(file, { force: true })
    }
  }
  throw new LatheError('in_use', `cannot lock the objects folder ${dir}`, { field: 'objects' })
}
