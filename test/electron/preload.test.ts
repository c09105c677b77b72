import { beforeEach, describe, expect, it, vi } from 'vitest'

vi.mock('electron', () => import('./fake-electron.js'))

const { bridgeChannels, bridgeKeys, channelPrefix } = await import('../../src-preload/bridge.js')
type LatheBridge = import('../../src-preload/bridge.js').LatheBridge

const connection = { url: 'http://127.0.0.1:41234', token: 'secret-token' }

// The preload runs once per page load; each test loads it afresh.
let contextBridge: typeof import('./fake-electron.js').contextBridge
let ipcRenderer: typeof import('./fake-electron.js').ipcRenderer

beforeEach(async () => {
  vi.resetModules()
  // The same (mocked) module the preload gets when it imports 'electron'.
  ;({ contextBridge, ipcRenderer } = (await import('electron')) as unknown as typeof import('./fake-electron.js'))
  contextBridge.exposed.clear()
  contextBridge.exposeInMainWorld.mockClear()
  ipcRenderer.sendSync.mockReset().mockReturnValue(connection)
  ipcRenderer.invoke.mockReset().mockResolvedValue(null)
})

async function loadPreload(): Promise<LatheBridge> {
  await import('../../src-preload/index.js')
  return contextBridge.exposed.get('lathe') as LatheBridge
}

describe('the preload', () => {
  it('exposes exactly one object, window.lathe, with exactly the bridge', async () => {
    const lathe = await loadPreload()
    expect(contextBridge.exposeInMainWorld).toHaveBeenCalledTimes(1)
    expect([...contextBridge.exposed.keys()]).toEqual(['lathe'])
    expect(Object.keys(lathe).sort()).toEqual([...bridgeKeys].sort())
    expect(lathe.engine).toEqual(connection)
    expect(Object.isFrozen(lathe.engine)).toBe(true)
    // ipcRenderer itself never reaches the page.
    expect(Object.values(lathe)).not.toContain(ipcRenderer)
  })

  it('reads the engine connection once, synchronously, on its fixed channel', async () => {
    await loadPreload()
    expect(ipcRenderer.sendSync.mock.calls).toEqual([[bridgeChannels.engineConnection]])
  })

  it('calls only fixed channels under the lathe: prefix', async () => {
    const lathe = await loadPreload()
    ipcRenderer.invoke.mockResolvedValueOnce('/data/iris.csv')
    expect(await lathe.openFile([{ name: 'Data', extensions: ['csv'] }])).toBe('/data/iris.csv')
    await lathe.openFile()
    await lathe.revealInFolder('/data/iris.csv')
    await lathe.notify('Training finished', 'run 7: accuracy 0.96')
    expect(ipcRenderer.invoke.mock.calls).toEqual([
      [bridgeChannels.openFile, [{ name: 'Data', extensions: ['csv'] }]],
      [bridgeChannels.openFile, []],
      [bridgeChannels.revealInFolder, '/data/iris.csv'],
      [bridgeChannels.notify, 'Training finished', 'run 7: accuracy 0.96'],
    ])
    const used = [...ipcRenderer.invoke.mock.calls, ...ipcRenderer.sendSync.mock.calls].map(([channel]) => channel as string)
    expect(used.every((channel) => channel.startsWith(channelPrefix))).toBe(true)
    expect(Object.values(bridgeChannels).every((channel) => channel.startsWith(channelPrefix))).toBe(true)
  })

  it('refuses to expose a bridge without an engine connection', async () => {
    ipcRenderer.sendSync.mockReturnValue(null)
    await expect(loadPreload()).rejects.toThrow(/did not hand over the engine connection/)
    expect(contextBridge.exposeInMainWorld).not.toHaveBeenCalled()
  })
})
