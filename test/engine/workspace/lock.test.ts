import { spawn, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { Engine } from '../../../src-main/engine/engine.js'
import { startEngineHost } from '../../../src-main/engine/host.js'
import { findRunningEngine, isProcessAlive, readLock } from '../../../src-main/engine/workspace/lock.js'
import { Workspace } from '../../../src-main/engine/workspace/workspace.js'
import { afterThisTest, tempDir } from '../../helpers/workspace.js'

/** A live process that is not this one, to stand for another engine holding the lock. */
function otherLiveProcess(): number {
  const child = spawn('sleep', ['60'], { stdio: 'ignore' })
  afterThisTest(() => {
    child.kill('SIGKILL')
  })
  return child.pid!
}

/** The PID of a process that has exited: what a crashed engine leaves in its lock. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' })
  const pid = Number(child.stdout)
  expect(isProcessAlive(pid)).toBe(false)
  return pid
}

function writeLock(dir: string, pid: number, url: string | null = null) {
  fs.writeFileSync(path.join(dir, 'lathe.lock'), JSON.stringify({ pid, url, startedAt: new Date().toISOString(), holder: 'lathe ui' }))
}

describe('the workspace lock', () => {
  it('names this process and its holder while the workspace is open, and is gone after close', async () => {
    const dir = tempDir()
    const workspace = Workspace.open(dir, { holder: 'lathe test' })
    expect(readLock(dir)).toMatchObject({ pid: process.pid, holder: 'lathe test', url: null })
    await workspace.close()
    expect(fs.existsSync(path.join(dir, 'lathe.lock'))).toBe(false)
  })

  it('refuses a second engine while another live process holds it: "workspace is in use by PID n"', () => {
    const dir = tempDir()
    fs.mkdirSync(dir, { recursive: true })
    const pid = otherLiveProcess()
    writeLock(dir, pid)
    expect(() => Engine.open({ workspaceDir: dir })).toThrow(`workspace is in use by PID ${pid}`)
    try {
      Engine.open({ workspaceDir: dir })
    } catch (error) {
      expect(error).toMatchObject({ code: 'in_use', details: { pid } })
    }
    // The holder's lock is untouched, and no database was created behind its back.
    expect(readLock(dir)?.pid).toBe(pid)
    expect(fs.existsSync(path.join(dir, 'lathe.db'))).toBe(false)
  })

  it('refuses a second open in the same process too', async () => {
    const dir = tempDir()
    const first = Workspace.open(dir, { holder: 'first' })
    afterThisTest(() => first.close())
    expect(() => Workspace.open(dir, { holder: 'second' })).toThrow(`workspace is in use by PID ${process.pid} (first`)
    expect(readLock(dir)).toMatchObject({ pid: process.pid, holder: 'first' })
  })

  it('takes over a stale lock whose process is dead', async () => {
    const dir = tempDir()
    const pid = deadPid()
    writeLock(dir, pid, 'http://127.0.0.1:9/')
    fs.writeFileSync(path.join(dir, 'engine.token'), 'old token')
    expect(findRunningEngine(dir)).toBeNull()
    const workspace = Workspace.open(dir, { holder: 'new holder' })
    afterThisTest(() => workspace.close())
    expect(readLock(dir)).toMatchObject({ pid: process.pid, holder: 'new holder' })
  })

  it('takes over a half-written lock file', () => {
    const dir = tempDir()
    fs.writeFileSync(path.join(dir, 'lathe.lock'), '{"pid": 12')
    const workspace = Workspace.open(dir)
    afterThisTest(() => workspace.close())
    expect(readLock(dir)?.pid).toBe(process.pid)
  })

  it('advertises the API URL in the lock and the token in a file only the user can read; both removed at close', async () => {
    const dir = tempDir()
    const host = await startEngineHost({ workspaceDir: dir, holder: 'lock test', port: 0 })
    afterThisTest(() => host.stop())
    const tokenFile = path.join(dir, 'engine.token')
    expect(readLock(dir)).toMatchObject({ pid: process.pid, url: host.api.url })
    expect(fs.statSync(tokenFile).mode & 0o777).toBe(0o600)
    expect(fs.readFileSync(tokenFile, 'utf8')).toBe(host.api.token)
    // This process is the holder, so it must not see itself as a remote engine.
    expect(findRunningEngine(dir)).toBeNull()

    await host.stop()
    expect(fs.existsSync(path.join(dir, 'lathe.lock'))).toBe(false)
    expect(fs.existsSync(tokenFile)).toBe(false)
    expect(fs.readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([])
  })

  it('lets another process find a live engine by its lock and token', () => {
    const dir = tempDir()
    const pid = otherLiveProcess()
    writeLock(dir, pid, 'http://127.0.0.1:43210')
    fs.writeFileSync(path.join(dir, 'engine.token'), 'the-token\n', { mode: 0o600 })
    expect(findRunningEngine(dir)).toEqual({ pid, url: 'http://127.0.0.1:43210', token: 'the-token' })
  })
})
