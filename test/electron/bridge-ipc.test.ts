import { beforeEach, describe, expect, it, vi } from 'vitest'

vi.mock('electron', () => import('./fake-electron.js'))

const { BrowserWindow, Notification, dialog, ipcMain, shell } = await import('./fake-electron.js')
const { bridgeChannels } = await import('../../src-preload/bridge.js')
const { parseFilters, registerBridgeHandlers } = await import('../../src-main/electron/bridge-ipc.js')

const appOrigin = 'http://127.0.0.1:41234'
let unregister: () => void = () => {}

beforeEach(() => {
  unregister()
  BrowserWindow.created.length = 0
  shell.showItemInFolder.mockClear()
  dialog.showOpenDialog.mockClear()
  Notification.shown.length = 0
  unregister = registerBridgeHandlers({ connection: () => ({ url: appOrigin, token: 't' }), appOrigin: () => appOrigin })
})

function invoke(channel: string, pageUrl: string, ...args: unknown[]): Promise<unknown> {
  const window = BrowserWindow.created[0] ?? new BrowserWindow({})
  const event = { senderFrame: { url: pageUrl }, sender: window.webContents }
  return Promise.resolve().then(() => ipcMain.handlers.get(channel)!(event, ...args))
}

describe('the bridge handlers in Electron main', () => {
  it('registers one handler per channel and removes them all', () => {
    expect([...ipcMain.handlers.keys()].sort()).toEqual([bridgeChannels.notify, bridgeChannels.openFile, bridgeChannels.revealInFolder].sort())
    expect([...ipcMain.listeners.keys()]).toEqual([bridgeChannels.engineConnection])
    unregister()
    expect(ipcMain.handlers.size).toBe(0)
    expect(ipcMain.listeners.size).toBe(0)
  })

  it('opens the native file dialog attached to the window and returns the path, or null when cancelled', async () => {
    expect(await invoke(bridgeChannels.openFile, `${appOrigin}/`, [{ name: 'Data', extensions: ['.csv', 'parquet'] }])).toBe('/data/iris.csv')
    const [parent, options] = dialog.showOpenDialog.mock.calls[0] as [unknown, { filters: unknown; properties: string[] }]
    expect(parent).toBe(BrowserWindow.created[0])
    expect(options).toEqual({ properties: ['openFile'], filters: [{ name: 'Data', extensions: ['csv', 'parquet'] }] })

    dialog.showOpenDialog.mockResolvedValueOnce({ canceled: true, filePaths: [] })
    expect(await invoke(bridgeChannels.openFile, `${appOrigin}/`, [])).toBeNull()
  })

  it('reveals an absolute path and refuses anything else', async () => {
    await invoke(bridgeChannels.revealInFolder, `${appOrigin}/`, '/data/../data/iris.csv')
    expect(shell.showItemInFolder).toHaveBeenCalledWith('/data/iris.csv')
    await expect(invoke(bridgeChannels.revealInFolder, `${appOrigin}/`, 'iris.csv')).rejects.toThrow(/expected an absolute path, got "iris.csv"/)
    await expect(invoke(bridgeChannels.revealInFolder, `${appOrigin}/`, 42)).rejects.toThrow(/absolute path/)
    expect(shell.showItemInFolder).toHaveBeenCalledTimes(1)
  })

  it('shows a notification with a title and a body', async () => {
    await invoke(bridgeChannels.notify, `${appOrigin}/`, 'Training finished', 'run 7')
    expect(Notification.shown).toEqual([{ title: 'Training finished', body: 'run 7' }])
    await expect(invoke(bridgeChannels.notify, `${appOrigin}/`, '', 'x')).rejects.toThrow(/non-empty title/)
    expect(Notification.shown).toHaveLength(1)
  })

  it('answers no page but the app', async () => {
    for (const channel of [bridgeChannels.openFile, bridgeChannels.revealInFolder, bridgeChannels.notify]) {
      await expect(invoke(channel, 'https://example.com/', '/x', 'y')).rejects.toThrow(/not the Lathe page/)
    }
    expect(dialog.showOpenDialog).not.toHaveBeenCalled()
    expect(shell.showItemInFolder).not.toHaveBeenCalled()
  })

  it('validates file filters, naming the bad one', () => {
    expect(parseFilters(undefined)).toEqual([])
    expect(parseFilters([{ name: 'Any', extensions: ['*'] }])).toEqual([{ name: 'Any', extensions: ['*'] }])
    expect(() => parseFilters('csv')).toThrow(/filters must be a list/)
    expect(() =>
      parseFilters([
        { name: 'ok', extensions: ['csv'] },
        { name: 'bad', extensions: ['c s v'] },
      ]),
    ).toThrow(/filter 1 must be/)
    expect(() => parseFilters(Array.from({ length: 21 }, () => ({ name: 'x', extensions: ['csv'] })))).toThrow(/at most 20/)
  })
})
