/**
 * The desktop bridge: the only thing the preload puts on `window` (`window.lathe`).
 * Declared once here; the preload implements it with `satisfies`, Electron main
 * registers a handler per channel, and the renderer may `import type` it.
 *
 * Pure module: no `electron` import, so main, preload, renderer and tests share it.
 */

export interface EngineConnection {
  /** The engine API's origin, e.g. `http://127.0.0.1:41234`; the page itself is served from it. */
  url: string
  /** Per-launch bearer token for `Authorization: Bearer <token>`. */
  token: string
}

export interface FileFilter {
  /** Shown in the dialog, e.g. "Data files". */
  name: string
  /** Extensions without the dot, e.g. ["csv", "parquet"]; ["*"] for any. */
  extensions: string[]
}

export interface LatheBridge {
  readonly engine: EngineConnection
  /** The native open-file dialog; the chosen file's absolute path, or null when cancelled. */
  openFile(filters?: FileFilter[]): Promise<string | null>
  /** Shows the file in the OS file manager. */
  revealInFolder(path: string): Promise<void>
  /** An OS notification (training finished, an alert fired). */
  notify(title: string, body: string): Promise<void>
}

/** Every IPC channel the bridge uses. The preload refuses any name outside this prefix. */
export const channelPrefix = 'lathe:'

export const bridgeChannels = {
  /** Synchronous, once, while the preload runs: the page reads `window.lathe.engine` at load. */
  engineConnection: 'lathe:engine-connection',
  openFile: 'lathe:open-file',
  revealInFolder: 'lathe:reveal-in-folder',
  notify: 'lathe:notify',
} as const satisfies Record<string, `${typeof channelPrefix}${string}`>

export type BridgeChannel = (typeof bridgeChannels)[keyof typeof bridgeChannels]

/** The keys of `window.lathe`, in one place so the preload test can check nothing else leaks. */
export const bridgeKeys = ['engine', 'openFile', 'revealInFolder', 'notify'] as const satisfies ReadonlyArray<keyof LatheBridge>

declare global {
  interface Window {
    /** Present in the desktop app only; a browser tab (`lathe ui`) has no bridge. */
    lathe?: LatheBridge
  }
}
