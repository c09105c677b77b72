import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import type { HostMessage } from '../../src-main/electron/host-protocol.js'
import { runEngineHost, type ParentPortLike } from '../../src-main/electron/engine-host.js'
import { afterThisTest, tempDir } from '../helpers/workspace.js'

/**
 * The desktop engine host, run for real (real workspace, real API server) with
 * Electron's parent port played by the test.
 */
class TestParentPort implements ParentPortLike {
  readonly messages: HostMessage[] = []
  private listener: ((event: { data: unknown }) => void) | null = null
  private waiters: Array<() => void> = []
  postMessage(message: HostMessage): void {
    this.messages.push(message)
    for (const wake of this.waiters.splice(0)) wake()
  }
  on(_event: 'message', listener: (event: { data: unknown }) => void): void {
    this.listener = listener
  }
  fromMain(data: unknown): void {
    this.listener?.({ data })
  }
  async next(type: HostMessage['type']): Promise<HostMessage> {
    for (;;) {
      const found = this.messages.find((m) => m.type === type)
      if (found) return found
      await new Promise<void>((resolve) => this.waiters.push(resolve))
    }
  }
}

async function startHost(workspace: string, env: NodeJS.ProcessEnv = {}) {
  const port = new TestParentPort()
  const exits: number[] = []
  const host = await runEngineHost({ parentPort: port, env: { LATHE_WORKSPACE: workspace, ...env }, argv: [], onStopped: (code) => exits.push(code) })
  if (host) afterThisTest(() => host.stop())
  return { port, host, exits }
}

const call = (url: string, token: string | null, headers: Record<string, string> = {}) =>
  fetch(`${url}/api/v1/system.info`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
    body: '{}',
  })

describe('the desktop engine host', () => {
  it('opens the workspace, serves the API on loopback and reports its URL and token to main', async () => {
    const workspace = tempDir()
    const { port, host } = await startHost(workspace)
    expect(host).not.toBeNull()
    const ready = (await port.next('ready')) as Extract<HostMessage, { type: 'ready' }>
    expect(ready.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    expect(ready.workspace).toBe(workspace)
    expect(ready.logFile).toBe(path.join(workspace, 'lathe.log'))

    expect((await call(ready.url, ready.token)).status).toBe(200)
    expect((await call(ready.url, null)).status).toBe(401)
    // A file:// page or a sandboxed iframe on any web site sends Origin "null": refused.
    expect((await call(ready.url, ready.token, { origin: 'null' })).status).toBe(403)
    expect((await call(ready.url, ready.token, { origin: 'http://localhost:5173' })).status).toBe(403)
  })

  it('lets the Vite dev server origin call it only when main says it runs in dev', async () => {
    const { port } = await startHost(tempDir(), { LATHE_DEV_RENDERER_ORIGIN: 'http://localhost:5173' })
    const ready = (await port.next('ready')) as Extract<HostMessage, { type: 'ready' }>
    expect((await call(ready.url, ready.token, { origin: 'http://localhost:5173' })).status).toBe(200)
    expect((await call(ready.url, ready.token, { origin: 'http://localhost:5174' })).status).toBe(403)
  })

  it('serves the built renderer at / when given its folder', async () => {
    const renderer = tempDir()
    fs.writeFileSync(path.join(renderer, 'index.html'), '<!doctype html><title>Lathe</title>')
    const { port } = await startHost(tempDir(), { LATHE_RENDERER_DIR: renderer })
    const ready = (await port.next('ready')) as Extract<HostMessage, { type: 'ready' }>
    const page = await fetch(`${ready.url}/`)
    expect(page.status).toBe(200)
    expect(await page.text()).toContain('<title>Lathe</title>')
  })

  it("stops on main's message: the workspace is closed and its lock released", async () => {
    const workspace = tempDir()
    const { port, exits } = await startHost(workspace)
    const ready = (await port.next('ready')) as Extract<HostMessage, { type: 'ready' }>
    expect(fs.existsSync(path.join(workspace, 'lathe.lock'))).toBe(true)

    port.fromMain({ type: 'stop' })
    await port.next('stopped')
    expect(exits).toEqual([0])
    expect(fs.existsSync(path.join(workspace, 'lathe.lock'))).toBe(false)
    expect(fs.existsSync(path.join(workspace, 'engine.token'))).toBe(false)
    await expect(call(ready.url, ready.token)).rejects.toThrow()
  })

  it('ignores messages that are not a stop', async () => {
    const { port, exits } = await startHost(tempDir())
    const ready = (await port.next('ready')) as Extract<HostMessage, { type: 'ready' }>
    port.fromMain({ type: 'reboot' })
    port.fromMain('stop')
    expect(exits).toEqual([])
    expect((await call(ready.url, ready.token)).status).toBe(200)
  })

  it('stops by itself when Electron main is gone', async () => {
    const gone = spawnSync(process.execPath, ['-e', '0']).pid
    const workspace = tempDir()
    const port = new TestParentPort()
    const exits: number[] = []
    await runEngineHost({
      parentPort: port,
      env: { LATHE_WORKSPACE: workspace, LATHE_PARENT_PID: String(gone) },
      argv: [],
      parentCheckMs: 20,
      onStopped: (code) => exits.push(code),
    })
    await port.next('stopped')
    expect(exits).toEqual([0])
    expect(fs.existsSync(path.join(workspace, 'lathe.lock'))).toBe(false)
  })

  it('refuses a workspace another engine holds, saying which PID, and exits 1', async () => {
    const workspace = tempDir()
    await startHost(workspace)
    const second = new TestParentPort()
    const exits: number[] = []
    const host = await runEngineHost({ parentPort: second, env: { LATHE_WORKSPACE: workspace }, argv: [], onStopped: (c) => exits.push(c) })
    expect(host).toBeNull()
    const failed = (await second.next('failed')) as Extract<HostMessage, { type: 'failed' }>
    expect(failed.code).toBe('in_use')
    expect(failed.message).toContain(`workspace is in use by PID ${process.pid}`)
    expect(exits).toEqual([1])
  })

  it('takes --workspace from its command line over LATHE_WORKSPACE', async () => {
    const fromFlag = tempDir()
    const port = new TestParentPort()
    const host = await runEngineHost({ parentPort: port, env: { LATHE_WORKSPACE: tempDir() }, argv: ['--workspace', fromFlag] })
    afterThisTest(() => host?.stop())
    expect(((await port.next('ready')) as Extract<HostMessage, { type: 'ready' }>).workspace).toBe(fromFlag)
  })
})
