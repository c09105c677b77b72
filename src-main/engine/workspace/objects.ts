import { createHash, randomUUID } from 'node:crypto'
import fs from 'node:fs'
import fsp from 'node:fs/promises'
import path from 'node:path'
import { pipeline } from 'node:stream/promises'
import { LatheError } from '../api/common/errors.js'

const SHA256 = /^[0-9a-f]{64}$/

/** Brings a missing object into the store (by `commit`), or throws a LatheError saying why it cannot. */
export type ObjectFetcher = (sha256: string) => Promise<void>

/**
 * Content-addressed, immutable blobs under `objects/sha256/ab/cdef...`. Every write
 * lands in `tmp/` first and moves in by rename, so an object is either whole or
 * absent; reads can verify the hash.
 */
export class ObjectStore {
  constructor(
    readonly root: string,
    readonly tmpDir: string,
  ) {}

  private fetcher: ObjectFetcher | null = null

  /**
   * Who fetches an object this workspace knows of but does not hold (sync installs one: a record
   * pulled from the team server brings its bytes on first use). The store itself knows no server.
   */
  setFetcher(fetcher: ObjectFetcher | null): void {
    this.fetcher = fetcher
  }

  /**
   * The object's path, fetched first when it is missing and a fetcher is installed: the front door
   * for code about to read an object's bytes (serving, export, a dataset read).
   */
  async ensure(sha256: string): Promise<string> {
    const file = this.pathOf(sha256)
    if (fs.existsSync(file)) return file
    if (!this.fetcher) throw new LatheError('not_found', `object ${sha256} is missing from the workspace's object store`)
    await this.fetcher(sha256)
    if (!fs.existsSync(file)) throw new LatheError('not_found', `object ${sha256} is missing from the workspace's object store and could not be fetched`)
    return file
  }

  pathOf(sha256: string): string {
    if (!SHA256.test(sha256)) throw new LatheError('bad_request', `not a sha256 object id: ${sha256}`)
    return path.join(this.root, 'sha256', sha256.slice(0, 2), sha256.slice(2))
  }

  has(sha256: string): boolean {
    return fs.existsSync(this.pathOf(sha256))
  }

  /** A fresh path in the staging folder; the caller writes there, then calls `commit`. */
  stagingPath(suffix = ''): string {
    return path.join(this.tmpDir, `${randomUUID()}${suffix}`)
  }

  /** Hashes a staged file and moves it into the store; returns its id. */
  async commit(stagedFile: string): Promise<{ sha256: string; bytes: number }> {
    const sha256 = await hashFile(stagedFile)
    const target = this.pathOf(sha256)
    const { size } = await fsp.stat(stagedFile)
    if (fs.existsSync(target)) {
      await fsp.rm(stagedFile, { force: true })
    } else {
      await fsp.mkdir(path.dirname(target), { recursive: true })
      await fsp.chmod(stagedFile, 0o444)
      await fsp.rename(stagedFile, target)
    }
    return { sha256, bytes: size }
  }

  async putBuffer(data: Uint8Array | string): Promise<{ sha256: string; bytes: number }> {
    const staged = this.stagingPath()
    await fsp.writeFile(staged, data)
    return this.commit(staged)
  }

  async read(sha256: string, { verify = true } = {}): Promise<Buffer> {
    const file = await this.ensure(sha256)
    let data: Buffer
    try {
      data = await fsp.readFile(file)
    } catch {
      throw new LatheError('not_found', `object ${sha256} is missing from the workspace's object store`)
    }
    if (verify && createHash('sha256').update(data).digest('hex') !== sha256) {
      throw new LatheError('conflict', `object ${sha256} is corrupt: its content no longer matches its hash (${file})`)
    }
    return data
  }

  /** Re-hashes an object on disk; throws if it is missing or corrupt. */
  async verify(sha256: string): Promise<void> {
    const file = this.pathOf(sha256)
    if (!fs.existsSync(file)) throw new LatheError('not_found', `object ${sha256} is missing`)
    const actual = await hashFile(file)
    if (actual !== sha256) throw new LatheError('conflict', `object ${sha256} is corrupt (hash is now ${actual})`)
  }

  async *list(): AsyncGenerator<string> {
    const base = path.join(this.root, 'sha256')
    if (!fs.existsSync(base)) return
    for (const prefix of await fsp.readdir(base)) {
      for (const rest of await fsp.readdir(path.join(base, prefix))) yield prefix + rest
    }
  }
}

export async function hashFile(file: string): Promise<string> {
  const hash = createHash('sha256')
  await pipeline(fs.createReadStream(file), hash)
  return hash.digest('hex')
}
