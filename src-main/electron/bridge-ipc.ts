import path from 'node:path'
import { BrowserWindow, dialog, ipcMain, Notification, shell, type IpcMainEvent, type IpcMainInvokeEvent } from 'electron'
import { bridgeChannels, type EngineConnection, type FileFilter } from '../../src-preload/bridge.js'
import { originOf } from './window.js'

/**
 * Electron main's side of the preload bridge: one handler per fixed channel. Each
 * checks that the call comes from the app's own page (not a frame or page that
 * got in some other way) and validates its arguments before touching the OS.
 */

export interface BridgeHandlerOptions {
  /** The engine's address, or null while it (re)starts. */
  connection: () => EngineConnection | null
  appOrigin: () => string
}

const MAX_FILTERS = 20
const MAX_TITLE = 200
const MAX_BODY = 2000

export function registerBridgeHandlers(options: BridgeHandlerOptions): () => void {
  const fromApp = (event: IpcMainEvent | IpcMainInvokeEvent): boolean => {
    const url = event.senderFrame?.url
    return !!url && originOf(url) === options.appOrigin()
  }
  const refuse = (channel: string): never => {
    throw new Error(`${channel}: refused, the caller is not the Lathe page`)
  }

  ipcMain.on(bridgeChannels.engineConnection, (event) => {
    event.returnValue = fromApp(event) ? options.connection() : null
  })

  ipcMain.handle(bridgeChannels.openFile, async (event, filters: unknown) => {
    if (!fromApp(event)) refuse(bridgeChannels.openFile)
    const window = BrowserWindow.fromWebContents(event.sender)
    const dialogOptions = { properties: ['openFile' as const], filters: parseFilters(filters) }
    const result = window ? await dialog.showOpenDialog(window, dialogOptions) : await dialog.showOpenDialog(dialogOptions)
    return result.canceled ? null : (result.filePaths[0] ?? null)
  })

  ipcMain.handle(bridgeChannels.revealInFolder, (event, target: unknown) => {
    if (!fromApp(event)) refuse(bridgeChannels.revealInFolder)
    if (typeof target !== 'string' || !path.isAbsolute(target)) {
      throw new Error(`${bridgeChannels.revealInFolder}: expected an absolute path, got ${JSON.stringify(target)}`)
    }
    shell.showItemInFolder(path.normalize(target))
  })

  ipcMain.handle(bridgeChannels.notify, (event, title: unknown, body: unknown) => {
    if (!fromApp(event)) refuse(bridgeChannels.notify)
    if (typeof title !== 'string' || !title.trim() || typeof body !== 'string') {
      throw new Error(`${bridgeChannels.notify}: expected a non-empty title and a body, both strings`)
    }
    if (!Notification.isSupported()) return
    new Notification({ title: title.slice(0, MAX_TITLE), body: body.slice(0, MAX_BODY) }).show()
  })

  return () => {
    ipcMain.removeAllListeners(bridgeChannels.engineConnection)
    ipcMain.removeHandler(bridgeChannels.openFile)
    ipcMain.removeHandler(bridgeChannels.revealInFolder)
    ipcMain.removeHandler(bridgeChannels.notify)
  }
}

export function parseFilters(value: unknown): FileFilter[] {
  if (value === undefined || value === null) return []
  if (!Array.isArray(value) || value.length > MAX_FILTERS) {
    throw new Error(`${bridgeChannels.openFile}: filters must be a list of at most ${MAX_FILTERS} {name, extensions}`)
  }
  return value.map((filter, index) => {
    const f = filter as Partial<FileFilter> | null
    const extensions = f?.extensions
    if (
      !f ||
      typeof f.name !== 'string' ||
      !Array.isArray(extensions) ||
      !extensions.every((e) => typeof e === 'string' && /^(\*|[A-Za-z0-9_.-]{1,16})$/.test(e))
    ) {
      throw new Error(`${bridgeChannels.openFile}: filter ${index} must be {name: string, extensions: ["csv", ...]} (extensions without the dot)`)
    }
    return { name: f.name, extensions: extensions.map((e) => e.replace(/^\./, '')) }
  })
}
