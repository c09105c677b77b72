import fs from 'node:fs'
import path from 'node:path'
import { LatheError } from '../api/common/errors.js'
import { workspaceFiles } from './paths.js'

/**
 * One engine holds a workspace at a time. The lock file names the holder's PID and,
 * once it listens, its API URL; the API token sits beside it in a file only the user
 * can read. Other processes read both to become clients of that engine.
 */
export interface LockInfo {
  pid: number
  url: string | null
  startedAt: string
  /** What holds it: `lathe ui`, the desktop app, a CLI command. */
  holder: string
}

export interface EngineAddress {
  pid: number
  url: string
  token: string
}

export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

export function readLock(dir: string): LockInfo | null {
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, workspaceFiles.lock), 'utf8')) as LockInfo
  } catch {
    // Missing or half-written by a process that died mid-write: no live holder.
    return null
  }
}

/** The running engine's address, when a live engine holds the workspace and listens. */
export function findRunningEngine(dir: string): EngineAddress | null {
  const lock = readLock(dir)
  if (!lock || !lock.url || lock.pid === process.pid || !isProcessAlive(lock.pid)) return null
  try {
    const token = fs.readFileSync(path.join(dir, workspaceFiles.token), 'utf8').trim()
    return { pid: lock.pid, url: lock.url, token }
  } catch {
    return null
  }
}

// Workspaces this process holds. The lock file names only a PID, so without this a
// second open in the same process would look like a stale lock and be taken over.
const heldHere = new Map<string, string>()

export class WorkspaceLock {
  private released = false

  private constructor(
    readonly dir: string,
    private info: LockInfo,
  ) {}

  /** Takes the lock, or throws "workspace is in use by PID n". A dead holder's lock is taken over. */
  static acquire(dir: string, holder: string): WorkspaceLock {
    const file = path.join(dir, workspaceFiles.lock)
    const heldBy = heldHere.get(path.resolve(dir))
    if (heldBy !== undefined) {
      throw new LatheError('in_use', `workspace is in use by PID ${process.pid} (${heldBy}, this process) at ${dir}`, {
        details: { pid: process.pid },
      })
    }
    const info: LockInfo = { pid: process.pid, url: null, startedAt: new Date().toISOString(), holder }
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        // 'wx' fails if the file exists: two processes cannot both win.
        fs.writeFileSync(file, JSON.stringify(info), { flag: 'wx', mode: 0o644 })
        heldHere.set(path.resolve(dir), holder)
        return new WorkspaceLock(dir, info)
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
      }
      const current = readLock(dir)
      if (current && current.pid !== process.pid && isProcessAlive(current.pid)) {
        throw new LatheError('in_use', `workspace is in use by PID ${current.pid} (${current.holder}) at ${dir}`, {
          details: { pid: current.pid, url: current.url },
        })
      }
      // Stale: the holder died without cleaning up. Remove and retry the exclusive create.
      fs.rmSync(file, { force: true })
    }
    throw new LatheError('in_use', `could not take the workspace lock at ${file}`)
  }

  /** Records where the engine API listens, and writes its token readable by this user only. */
  advertise(url: string, token: string): void {
    const tokenFile = path.join(this.dir, workspaceFiles.token)
    const staging = `${tokenFile}.${process.pid}.tmp`
    fs.writeFileSync(staging, token, { mode: 0o600 })
    fs.chmodSync(staging, 0o600)
    fs.renameSync(staging, tokenFile)
    this.info = { ...this.info, url }
    const lockFile = path.join(this.dir, workspaceFiles.lock)
    const lockStaging = `${lockFile}.${process.pid}.tmp`
    fs.writeFileSync(lockStaging, JSON.stringify(this.info))
    fs.renameSync(lockStaging, lockFile)
  }

  release(): void {
    if (this.released) return
    this.released = true
    heldHere.delete(path.resolve(this.dir))
    const current = readLock(this.dir)
    if (current && current.pid !== process.pid) return
    fs.rmSync(path.join(this.dir, workspaceFiles.token), { force: true })
    fs.rmSync(path.join(this.dir, workspaceFiles.lock), { force: true })
  }
}
