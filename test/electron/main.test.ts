import path from 'node:path'
import { beforeEach, describe, expect, it, vi } from 'vitest'

vi.mock('electron', () => import('./fake-electron.js'))

const electron = await import('./fake-electron.js')
const { app, BrowserWindow, dialog, ipcMain, session, settle, utilityProcess } = electron
const { bridgeChannels } = await import('../../src-preload/bridge.js')
const { builtPaths, startDesktopApp } = await import('../../src-main/electron/main.js')

const paths = { hostScript: '/app/out/main/host.js', preload: '/app/out/preload/index.cjs', rendererDir: '/app/out/renderer' }
const ready = (port: number, token = `token-${port}`) => ({
  type: 'ready',
  url: `http://127.0.0.1:${port}`,
  token,
  workspace: '/tmp/ws',
  logFile: '/tmp/ws/lathe.log',
})

beforeEach(() => {
  app.removeAllListeners()
  app.singleInstance = true
  app.quitted = false
  app.quit.mockClear()
  utilityProcess.forked.length = 0
  utilityProcess.fork.mockClear()
  BrowserWindow.created.length = 0
  ipcMain.handlers.clear()
  ipcMain.listeners.clear()
  dialog.showMessageBox.mockReset().mockResolvedValue({ response: 0, checkboxChecked: false })
  dialog.showErrorBox.mockClear()
  app.exit.mockClear()
})

/** Starts main and plays the engine host answering `ready`. */
async function startWithEngine(env: NodeJS.ProcessEnv = {}) {
  const started = startDesktopApp(paths, env, ['electron', '.', '--workspace', '/tmp/ws'])
  await settle()
  const host = utilityProcess.forked[0]!
  host.send(ready(41234))
  await started
  return { host, window: BrowserWindow.created[0]! }
}

function callBridge(channel: string, pageUrl: string, ...args: unknown[]) {
  const event = { senderFrame: { url: pageUrl }, sender: BrowserWindow.created[0]?.webContents, returnValue: undefined as unknown }
  const handler = ipcMain.handlers.get(channel)
  if (handler) return Promise.resolve().then(() => handler(event, ...args))
  ipcMain.listeners.get(channel)!(event, ...args)
  return event.returnValue
}

describe('Electron main', () => {
  it('finds the built host, preload and renderer next to the built main, unpacked from the asar', () => {
    const mainDir = path.join('/opt/Lathe/resources/app.asar', 'out', 'main')
    expect(builtPaths(mainDir, false)).toEqual({
      hostScript: path.join(mainDir, 'host.js'),
      preload: path.join('/opt/Lathe/resources/app.asar/out/preload/index.cjs'),
      rendererDir: path.join('/opt/Lathe/resources/app.asar.unpacked/out/renderer'),
    })
    expect(builtPaths('/src/out/main', true).rendererDir).toBeNull()
  })

  it('starts the engine host as a utilityProcess and loads the window only once the host is ready', async () => {
    const started = startDesktopApp(paths, {}, ['electron', '.', '--workspace', '/tmp/ws'])
    await settle()
    expect(app.enableSandbox).toHaveBeenCalled()
    expect(utilityProcess.fork).toHaveBeenCalledTimes(1)
    const host = utilityProcess.forked[0]!
    expect(host.modulePath).toBe(paths.hostScript)
    expect(host.options.env).toMatchObject({
      LATHE_WORKSPACE: '/tmp/ws',
      LATHE_RENDERER_DIR: '/app/out/renderer',
      LATHE_PARENT_PID: String(process.pid),
    })
    expect(host.options.env!.LATHE_DEV_RENDERER_ORIGIN).toBeUndefined()
    expect(BrowserWindow.created).toHaveLength(0)

    host.send(ready(41234))
    await started
    const window = BrowserWindow.created[0]!
    expect(window.options.webPreferences).toMatchObject({ sandbox: true, contextIsolation: true, nodeIntegration: false, preload: paths.preload })
    expect(window.loaded).toEqual(['http://127.0.0.1:41234/'])
    expect(window.shown).toBe(true)
    expect(session.defaultSession.headersListener).not.toBeNull()
  })

  it('hands the engine URL and token to the app page only', async () => {
    await startWithEngine()
    expect(callBridge(bridgeChannels.engineConnection, 'http://127.0.0.1:41234/')).toEqual({ url: 'http://127.0.0.1:41234', token: 'token-41234' })
    expect(callBridge(bridgeChannels.engineConnection, 'https://example.com/')).toBeNull()
    await expect(callBridge(bridgeChannels.notify, 'https://example.com/', 'hi', 'there')).rejects.toThrow(/not the Lathe page/)
  })

  it('in dev loads the Vite server and lets only its origin call the engine', async () => {
    const started = startDesktopApp(paths, { ELECTRON_RENDERER_URL: 'http://localhost:5173' }, ['electron', '.'])
    await settle()
    const host = utilityProcess.forked[0]!
    expect(host.options.env!.LATHE_DEV_RENDERER_ORIGIN).toBe('http://localhost:5173')
    host.send(ready(41235))
    await started
    expect(BrowserWindow.created[0]!.loaded).toEqual(['http://localhost:5173'])
    expect(callBridge(bridgeChannels.engineConnection, 'http://localhost:5173/')).toEqual({ url: 'http://127.0.0.1:41235', token: 'token-41235' })
  })

  it('quits at once when another instance already runs', async () => {
    app.singleInstance = false
    await startDesktopApp(paths, {}, [])
    expect(app.quit).toHaveBeenCalled()
    expect(utilityProcess.fork).not.toHaveBeenCalled()
  })

  it('on quit asks the host to stop and waits for it before quitting', async () => {
    const { host } = await startWithEngine()
    app.quit()
    expect(host.received).toEqual([{ type: 'stop' }])
    expect(app.quitted).toBe(false)
    host.send({ type: 'stopped' })
    host.emit('exit', 0)
    await settle()
    expect(app.quitted).toBe(true)
  })

  it('says why when the host cannot open the workspace, then quits', async () => {
    const started = startDesktopApp(paths, {}, [])
    await settle()
    utilityProcess.forked[0]!.send({ type: 'failed', code: 'in_use', message: 'workspace is in use by PID 4242 (lathe ui) at /tmp/ws', logFile: null })
    utilityProcess.forked[0]!.emit('exit', 1)
    await started
    const [options] = dialog.showMessageBox.mock.calls[0] as [{ message: string; detail: string }]
    expect(options.message).toBe('Lathe could not open its workspace')
    expect(options.detail).toContain('workspace is in use by PID 4242')
    expect(BrowserWindow.created).toHaveLength(0)
    expect(app.quitted).toBe(true)
  })

  it('when the host crashes, shows the log path and restarts it on request', async () => {
    const { host, window } = await startWithEngine()
    host.stderr.emit('data', Buffer.from('FATAL: out of memory\n'))
    host.emit('exit', 134)
    await settle()
    const [parent, options] = dialog.showMessageBox.mock.calls[0] as [unknown, { detail: string; buttons: string[] }]
    expect(parent).toBe(window)
    expect(options.detail).toContain('Exit code 134')
    expect(options.detail).toContain('/tmp/ws/lathe.log')
    expect(options.detail).toContain('FATAL: out of memory')
    expect(options.buttons[0]).toBe('Restart the engine')

    expect(utilityProcess.forked).toHaveLength(2)
    utilityProcess.forked[1]!.send(ready(50000, 'second-token'))
    await settle()
    expect(window.loaded).toEqual(['http://127.0.0.1:41234/', 'http://127.0.0.1:50000/'])
    expect(callBridge(bridgeChannels.engineConnection, 'http://127.0.0.1:50000/')).toEqual({ url: 'http://127.0.0.1:50000', token: 'second-token' })
    // The old origin is no longer the app's.
    expect(callBridge(bridgeChannels.engineConnection, 'http://127.0.0.1:41234/')).toBeNull()
  })

  it('when the host crashes and the user chooses Quit, quits', async () => {
    const { host } = await startWithEngine()
    dialog.showMessageBox.mockResolvedValue({ response: 1, checkboxChecked: false })
    host.emit('exit', 1)
    await settle()
    expect(utilityProcess.forked).toHaveLength(1)
    expect(app.quitted).toBe(true)
  })

  it('when the restarted engine cannot be loaded, says why and exits 1', async () => {
    const { host, window } = await startWithEngine()
    window.loadURL = vi.fn(async () => {
      throw new Error('ERR_CONNECTION_REFUSED (-102) loading http://127.0.0.1:50001/')
    })
    host.emit('exit', 1)
    await settle()
    utilityProcess.forked[1]!.send(ready(50001))
    await settle()
    expect(dialog.showErrorBox).toHaveBeenCalledWith('Lathe could not start', expect.stringContaining('ERR_CONNECTION_REFUSED'))
    expect(app.exit).toHaveBeenCalledWith(1)
  })
})
