import path from 'node:path'
import { app, BrowserWindow, dialog, session } from 'electron'
import { registerBridgeHandlers } from './bridge-ipc.js'
import { EngineProcess, EngineStartError, type EngineCrash } from './engine-process.js'
import { hostEnv, workspaceFromArgs } from './host-protocol.js'
import { guardNavigation, installResponseHeaders, mainWindowOptions, originOf, refusePermissions, type PolicyOrigins } from './window.js'

/**
 * Electron main: one window and the engine host; nothing else runs here. The host
 * (a utilityProcess) opens the workspace and serves the API and the built renderer
 * on one loopback origin; the window loads that origin and the preload hands the
 * page the token.
 */

export interface DesktopPaths {
  hostScript: string
  preload: string
  /** The built renderer; null in dev, where Vite serves it. */
  rendererDir: string | null
}

/** Where electron-vite puts the entries, relative to the built main (`out/main/electron.js`). */
export function builtPaths(mainDir: string, dev: boolean): DesktopPaths {
  // fastify-static reads the renderer with plain fs calls, so it is unpacked from the asar.
  const unpacked = (p: string) => p.replace(`app.asar${path.sep}`, `app.asar.unpacked${path.sep}`)
  return {
    hostScript: path.join(mainDir, 'host.js'),
    preload: path.join(mainDir, '..', 'preload', 'index.cjs'),
    rendererDir: dev ? null : unpacked(path.join(mainDir, '..', 'renderer')),
  }
}

export async function startDesktopApp(paths: DesktopPaths, env: NodeJS.ProcessEnv = process.env, argv = process.argv): Promise<void> {
  app.enableSandbox()
  if (!app.requestSingleInstanceLock()) {
    app.quit()
    return
  }
  const devUrl = env.ELECTRON_RENDERER_URL || null
  const devOrigin = devUrl ? originOf(devUrl) : null
  const workspace = workspaceFromArgs(argv, env)
  let window: BrowserWindow | null = null

  const engine = new EngineProcess({
    hostScript: paths.hostScript,
    env: {
      [hostEnv.workspace]: workspace,
      [hostEnv.parentPid]: String(process.pid),
      ...(paths.rendererDir ? { [hostEnv.staticDir]: paths.rendererDir } : {}),
      ...(devOrigin ? { [hostEnv.devOrigin]: devOrigin } : {}),
    },
    onCrash: (crash) => void offerRestart(crash).catch(failedToStart),
  })
  const engineOrigin = () => engine.connection?.url ?? 'http://127.0.0.1'
  const origins = (): PolicyOrigins => ({ appOrigin: devOrigin ?? engineOrigin(), engineOrigin: engineOrigin(), dev: !!devOrigin })
  const appOrigin = () => origins().appOrigin

  registerBridgeHandlers({
    connection: () => (engine.connection ? { url: engine.connection.url, token: engine.connection.token } : null),
    appOrigin,
  })
  app.on('second-instance', () => {
    if (!window) return
    if (window.isMinimized()) window.restore()
    window.focus()
  })
  // The engine lives as long as the window: closing it closes the workspace.
  app.on('window-all-closed', () => app.quit())
  let engineStopped = false
  app.on('will-quit', (event) => {
    if (engineStopped) return
    event.preventDefault()
    void engine.stop().finally(() => {
      engineStopped = true
      app.quit()
    })
  })

  async function startEngineAndLoad(): Promise<void> {
    let ready
    try {
      ready = await engine.start()
    } catch (error) {
      const e = error as Error
      const log = error instanceof EngineStartError && error.logFile ? `\n\nLog: ${error.logFile}` : ''
      await dialog.showMessageBox({ type: 'error', title: 'Lathe', message: 'Lathe could not open its workspace', detail: `${e.message}${log}` })
      app.quit()
      return
    }
    window ??= createWindow()
    await window.loadURL(devUrl ?? `${ready.url}/`)
  }

  function createWindow(): BrowserWindow {
    const created = new BrowserWindow(mainWindowOptions(paths.preload))
    guardNavigation(created.webContents, appOrigin, (url) => console.warn(`lathe: blocked navigation to ${url}`))
    created.once('ready-to-show', () => created.show())
    created.on('closed', () => (window = null))
    return created
  }

  async function offerRestart(crash: EngineCrash): Promise<void> {
    const log = crash.logFile ?? path.join(workspace, 'lathe.log')
    const options = {
      type: 'error' as const,
      title: 'Lathe',
      message: 'The Lathe engine stopped unexpectedly.',
      detail: `Exit code ${crash.exitCode}. The log is at ${log}${crash.stderrTail ? `\n\n${crash.stderrTail}` : ''}`,
      buttons: ['Restart the engine', 'Quit'],
      defaultId: 0,
      cancelId: 1,
    }
    const { response } = window ? await dialog.showMessageBox(window, options) : await dialog.showMessageBox(options)
    if (response === 0) await startEngineAndLoad()
    else app.quit()
  }

  await app.whenReady()
  installResponseHeaders(session.defaultSession, origins)
  refusePermissions(session.defaultSession, appOrigin)
  await startEngineAndLoad()
}

/** A failure of main itself (not of the engine, which has its own dialogs): say so and exit. */
export function failedToStart(error: unknown): void {
  const detail = error instanceof Error ? (error.stack ?? error.message) : String(error)
  console.error(`lathe: the desktop app failed: ${detail}`)
  dialog.showErrorBox('Lathe could not start', detail)
  app.exit(1)
}

if (process.type === 'browser') {
  startDesktopApp(builtPaths(import.meta.dirname, !!process.env.ELECTRON_RENDERER_URL)).catch(failedToStart)
}
