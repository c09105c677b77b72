import { contextBridge, ipcRenderer } from 'electron'
import { bridgeChannels, channelPrefix, type BridgeChannel, type EngineConnection, type FileFilter, type LatheBridge } from './bridge.js'

/**
 * The sandboxed preload: exposes `window.lathe` and nothing else. The page never
 * sees `ipcRenderer`; each bridge method calls one fixed channel, and a channel
 * outside the `lathe:` prefix is refused here too, so a later edit cannot widen
 * the bridge by accident (the way VS Code's preload guards its channels).
 */

function checked(channel: BridgeChannel): BridgeChannel {
  if (!channel.startsWith(channelPrefix)) throw new Error(`lathe preload: refusing IPC channel "${channel}"`)
  return channel
}

function invoke<T>(channel: BridgeChannel, ...args: unknown[]): Promise<T> {
  return ipcRenderer.invoke(checked(channel), ...args) as Promise<T>
}

function readEngineConnection(): EngineConnection {
  // Synchronous on purpose: the renderer builds its API client while its first
  // module loads, and main answers from memory (the engine is up before the window loads).
  const connection = ipcRenderer.sendSync(checked(bridgeChannels.engineConnection)) as EngineConnection | null
  if (!connection || typeof connection.url !== 'string' || typeof connection.token !== 'string') {
    throw new Error('lathe preload: Electron main did not hand over the engine connection')
  }
  return Object.freeze({ url: connection.url, token: connection.token })
}

const lathe = {
  engine: readEngineConnection(),
  openFile: (filters?: FileFilter[]) => invoke<string | null>(bridgeChannels.openFile, filters ?? []),
  revealInFolder: (path: string) => invoke<void>(bridgeChannels.revealInFolder, path),
  notify: (title: string, body: string) => invoke<void>(bridgeChannels.notify, title, body),
} satisfies LatheBridge

contextBridge.exposeInMainWorld('lathe', lathe)
