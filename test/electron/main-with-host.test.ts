import { spawn, type ChildProcess } from 'node:child_process'
import { EventEmitter } from 'node:events'
import fs from 'node:fs'
import path from 'node:path'
import readline from 'node:readline'
import { describe, expect, it, vi } from 'vitest'
import { needBuilt } from '../helpers/needs.js'
import { afterThisTest, tempDir } from '../helpers/workspace.js'

vi.mock('electron', () => import('./fake-electron.js'))

const { app, BrowserWindow, dialog, ipcMain, settle, utilityProcess } = await import('./fake-electron.js')
const { bridgeChannels } = await import('../../src-preload/bridge.js')
const { builtPaths, startDesktopApp } = await import('../../src-main/electron/main.js')

/**
 * Electron main (with `electron` replaced) driving the real built engine host: the
 * fake `utilityProcess.fork` starts `out/main/host.js` in a Node process and carries
 * the parent-port messages over its stdin/stdout. Start, the token handed to the page,
 * quit, and a crash (SIGKILL) followed by a restart that takes over the stale lock.
 */
const root = path.resolve(import.meta.dirname, '..', '..')
const paths = builtPaths(path.join(root, 'out', 'main'), false)

const parentPortShim = (hostScript: string) => `
import readline from 'node:readline'
const listeners = []
process.parentPort = {
  postMessage: (message) => process.stdout.write(JSON.stringify(message) + '\\n'),
  on: (event, listener) => { if (event === 'message') listeners.push(listener) },
}
readline.createInterface({ input: process.stdin }).on('line', (line) => listeners.forEach((l) => l({ data: JSON.parse(line) })))
await import(${JSON.stringify(hostScript)})
`

/** A utilityProcess made of a Node child process. */
class NodeUtilityProcess extends EventEmitter {
  readonly child: ChildProcess
  readonly stdout = new EventEmitter()
  readonly stderr: NodeJS.ReadableStream
  constructor(modulePath: string, options: { env?: Record<string, string | undefined> }) {
    super()
    this.child = spawn(process.execPath, ['--input-type=module', '-e', parentPortShim(modulePath)], {
      cwd: root,
      env: options.env as NodeJS.ProcessEnv,
      stdio: ['pipe', 'pipe', 'pipe'],
    })
    this.stderr = this.child.stderr!
    readline.createInterface({ input: this.child.stdout! }).on('line', (line) => this.emit('message', JSON.parse(line)))
    this.child.once('exit', (code, signal) => this.emit('exit', code ?? (signal ? 128 + 9 : 1)))
    afterThisTest(() => {
      if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill()
    })
  }
  postMessage(message: unknown): void {
    this.child.stdin!.write(`${JSON.stringify(message)}\n`)
  }
  kill(): boolean {
    return this.child.kill()
  }
}

async function until<T>(check: () => T | null | undefined | false): Promise<T> {
  for (;;) {
    const value = check()
    if (value) return value
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

function connectionFor(pageUrl: string): { url: string; token: string } | null {
  const event = { senderFrame: { url: pageUrl }, returnValue: undefined as unknown }
  ipcMain.listeners.get(bridgeChannels.engineConnection)!(event)
  return event.returnValue as { url: string; token: string } | null
}

const workspaceInfo = (connection: { url: string; token: string }) =>
  fetch(`${connection.url}/api/v1/workspace.info`, {
    method: 'POST',
    headers: { authorization: `Bearer ${connection.token}`, 'content-type': 'application/json' },
    body: '{}',
  })

describe('Electron main with the real engine host', () => {
  it('starts it, hands its token to the page, restarts it after a crash and stops it on quit', async () => {
    needBuilt(path.relative(root, paths.hostScript))
    utilityProcess.fork.mockImplementation(((modulePath: string, _args: string[], options: { env?: Record<string, string> }) => {
      const child = new NodeUtilityProcess(modulePath, options)
      utilityProcess.forked.push(child as never)
      return child
    }) as never)
    const workspace = tempDir('lathe-main-host-')
    const lockFile = path.join(workspace, 'lathe.lock')

    await startDesktopApp(paths, { ...process.env, ELECTRON_RENDERER_URL: '' }, ['electron', '.', '--workspace', workspace])
    const window = BrowserWindow.created[0]!
    const first = new URL(window.loaded[0]!).origin
    const connection = connectionFor(`${first}/`)!
    expect(connection.url).toBe(first)
    const info = (await (await workspaceInfo(connection)).json()) as { dir?: string }
    expect(JSON.stringify(info)).toContain(workspace)
    expect(JSON.parse(fs.readFileSync(lockFile, 'utf8'))).toMatchObject({ holder: 'Lathe desktop app', url: first })

    // A crash: the host dies without releasing its lock. The user chooses "Restart the engine".
    dialog.showMessageBox.mockResolvedValue({ response: 0, checkboxChecked: false })
    const crashed = utilityProcess.forked[0] as unknown as NodeUtilityProcess
    crashed.child.kill('SIGKILL')
    await until(() => window.loaded.length === 2)
    const [, crashDialog] = dialog.showMessageBox.mock.calls[0] as [unknown, { detail: string }]
    expect(crashDialog.detail).toContain(path.join(workspace, 'lathe.log'))
    // The restarted host takes its last port again when it is free and keeps the workspace's
    // API token (scripts' MLFLOW_TRACKING_URI and _TOKEN stay valid), and the page is handed it anew.
    const second = new URL(window.loaded[1]!).origin
    const restarted = connectionFor(`${second}/`)!
    expect(restarted.token).toBe(connection.token)
    expect((await workspaceInfo(restarted)).status).toBe(200)
    expect(JSON.parse(fs.readFileSync(lockFile, 'utf8'))).toMatchObject({ url: second })

    // Quit: main asks the host to stop and quits once it has; the lock is gone.
    app.quit()
    await until(() => app.quitted)
    await settle()
    expect(fs.existsSync(lockFile)).toBe(false)
    await expect(workspaceInfo(restarted)).rejects.toThrow()
  }, 120_000)
})
