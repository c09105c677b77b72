import { EventEmitter } from 'node:events'
import { vi } from 'vitest'

/**
 * A stand-in for the `electron` module in unit tests (the binary is not installed
 * here). It records what main and the preload ask of Electron and lets a test play
 * the other side: the engine host's messages, the user's dialog answers, a page's
 * navigation. Only the APIs Lathe uses exist, so a new dependency on Electron shows
 * up as a failing test instead of passing silently.
 */

export class FakeWebContents extends EventEmitter {
  windowOpenHandler: ((details: { url: string }) => { action: 'allow' | 'deny' }) | null = null
  setWindowOpenHandler(handler: (details: { url: string }) => { action: 'allow' | 'deny' }): void {
    this.windowOpenHandler = handler
  }
  /** Plays a navigation event; true when the app let it through. */
  navigate(event: 'will-navigate' | 'will-redirect' | 'will-frame-navigate', url: string): boolean {
    let prevented = false
    this.emit(event, { url, preventDefault: () => (prevented = true) })
    return !prevented
  }
}

export class BrowserWindow extends EventEmitter {
  static created: BrowserWindow[] = []
  static fromWebContents = vi.fn((contents: unknown) => BrowserWindow.created.find((w) => w.webContents === contents) ?? null)
  readonly webContents = new FakeWebContents()
  loaded: string[] = []
  shown = false
  constructor(readonly options: Record<string, any>) {
    super()
    BrowserWindow.created.push(this)
  }
  async loadURL(url: string): Promise<void> {
    this.loaded.push(url)
    this.emit('ready-to-show')
  }
  show(): void {
    this.shown = true
  }
  isMinimized(): boolean {
    return false
  }
  restore(): void {}
  focus(): void {}
}

export class FakeUtilityProcess extends EventEmitter {
  readonly stdout = new EventEmitter()
  readonly stderr = new EventEmitter()
  readonly received: unknown[] = []
  killed = false
  constructor(
    readonly modulePath: string,
    readonly options: { env?: Record<string, string | undefined>; stdio?: string; serviceName?: string },
  ) {
    super()
  }
  postMessage(message: unknown): void {
    this.received.push(message)
  }
  kill(): boolean {
    this.killed = true
    queueMicrotask(() => this.emit('exit', 15))
    return true
  }
  /** The host's side: a message to main. */
  send(message: unknown): void {
    this.emit('message', message)
  }
}

export const utilityProcess = {
  forked: [] as FakeUtilityProcess[],
  fork: vi.fn((modulePath: string, _args: string[], options: FakeUtilityProcess['options']) => {
    const child = new FakeUtilityProcess(modulePath, options)
    utilityProcess.forked.push(child)
    return child
  }),
}

class FakeApp extends EventEmitter {
  singleInstance = true
  quit = vi.fn(() => {
    // Electron emits will-quit; a listener may prevent it and quit again later.
    let prevented = false
    this.emit('will-quit', { preventDefault: () => (prevented = true) })
    if (!prevented) this.quitted = true
  })
  quitted = false
  enableSandbox = vi.fn()
  exit = vi.fn((_code?: number) => {})
  requestSingleInstanceLock = vi.fn(() => this.singleInstance)
  whenReady = vi.fn(async () => {})
}
export const app = new FakeApp()

type HeadersListener = (
  details: { url: string; method: string; responseHeaders?: Record<string, string[]> },
  callback: (response: { responseHeaders?: Record<string, string | string[]>; statusLine?: string }) => void,
) => void

type PermissionRequest = (contents: unknown, permission: string, callback: (ok: boolean) => void, details: { requestingUrl: string }) => void
type PermissionCheck = (contents: unknown, permission: string, origin: string) => boolean

class FakeSession {
  headersListener: HeadersListener | null = null
  permissionRequest: PermissionRequest | null = null
  permissionCheck: PermissionCheck | null = null
  readonly webRequest = {
    onHeadersReceived: (listener: HeadersListener) => {
      this.headersListener = listener
    },
  }
  setPermissionRequestHandler(handler: PermissionRequest): void {
    this.permissionRequest = handler
  }
  setPermissionCheckHandler(handler: PermissionCheck): void {
    this.permissionCheck = handler
  }
}

export const session = { defaultSession: new FakeSession() }

type Handler = (event: any, ...args: any[]) => unknown
export const ipcMain = {
  handlers: new Map<string, Handler>(),
  listeners: new Map<string, Handler>(),
  handle(channel: string, handler: Handler) {
    if (ipcMain.handlers.has(channel)) throw new Error(`second handler for ${channel}`)
    ipcMain.handlers.set(channel, handler)
  },
  removeHandler(channel: string) {
    ipcMain.handlers.delete(channel)
  },
  on(channel: string, listener: Handler) {
    ipcMain.listeners.set(channel, listener)
  },
  removeAllListeners(channel: string) {
    ipcMain.listeners.delete(channel)
  },
}

export const dialog = {
  showErrorBox: vi.fn((_title: string, _content: string) => {}),
  showMessageBox: vi.fn(async (..._args: unknown[]) => ({ response: 0, checkboxChecked: false })),
  showOpenDialog: vi.fn(async (..._args: unknown[]) => ({ canceled: false, filePaths: ['/data/iris.csv'] })),
}

export const shell = { showItemInFolder: vi.fn() }

export class Notification {
  static shown: Array<{ title: string; body: string }> = []
  static isSupported = vi.fn(() => true)
  constructor(private readonly options: { title: string; body: string }) {}
  show(): void {
    Notification.shown.push(this.options)
  }
}

export const contextBridge = {
  exposed: new Map<string, unknown>(),
  exposeInMainWorld: vi.fn((key: string, value: unknown) => contextBridge.exposed.set(key, value)),
}

export const ipcRenderer = {
  sendSync: vi.fn((_channel: string): unknown => null),
  invoke: vi.fn(async (_channel: string, ..._args: unknown[]): Promise<unknown> => null),
}

/** Waits until the event loop has run the pending promise callbacks. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await new Promise((resolve) => setImmediate(resolve))
}
