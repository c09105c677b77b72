import { utilityProcess, type UtilityProcess } from 'electron'
import { isHostMessage, type HostMessage, type MainMessage } from './host-protocol.js'

/**
 * Electron main's handle on the engine host utilityProcess: start it, wait for its
 * `ready` (URL + token), stop it on quit, and report a crash (an exit main did not
 * ask for). Main only relays; the host does the work.
 */

export type EngineReady = Extract<HostMessage, { type: 'ready' }>

export interface EngineCrash {
  exitCode: number
  /** The last lines the host wrote to stderr, for the dialog. */
  stderrTail: string
  logFile: string | null
}

/** The host said why it could not start, or died before saying anything. */
export class EngineStartError extends Error {
  constructor(
    message: string,
    readonly code: string,
    readonly logFile: string | null,
  ) {
    super(message)
    this.name = 'EngineStartError'
  }
}

export interface EngineProcessOptions {
  /** The built host entry, `out/main/host.js`. */
  hostScript: string
  env: Record<string, string>
  onCrash: (crash: EngineCrash) => void
  startTimeoutMs?: number
  stopTimeoutMs?: number
}

const STDERR_TAIL_LINES = 20

export class EngineProcess {
  private child: UtilityProcess | null = null
  private stopping: Promise<void> | null = null
  private stderrLines: string[] = []
  private current: EngineReady | null = null

  constructor(private readonly options: EngineProcessOptions) {}

  /** The running engine's address, once ready. */
  get connection(): EngineReady | null {
    return this.current
  }

  start(): Promise<EngineReady> {
    if (this.child) throw new Error('the engine host is already running')
    this.stopping = null
    this.stderrLines = []
    const child = utilityProcess.fork(this.options.hostScript, [], {
      env: { ...process.env, ...this.options.env },
      stdio: 'pipe',
      serviceName: 'Lathe engine',
    })
    this.child = child
    child.stdout?.on('data', (chunk: Buffer) => process.stdout.write(chunk))
    child.stderr?.on('data', (chunk: Buffer) => {
      process.stderr.write(chunk)
      this.stderrLines.push(...chunk.toString('utf8').split('\n').filter(Boolean))
      this.stderrLines = this.stderrLines.slice(-STDERR_TAIL_LINES)
    })

    return new Promise<EngineReady>((resolve, reject) => {
      let settled = false
      let wasReady = false
      const timer = setTimeout(() => {
        fail(new EngineStartError(`the engine did not start within ${Math.round(this.startTimeoutMs / 1000)} s`, 'timeout', null))
        child.kill()
      }, this.startTimeoutMs)
      const fail = (error: EngineStartError) => {
        if (settled) return
        settled = true
        clearTimeout(timer)
        reject(error)
      }

      child.on('message', (message: unknown) => {
        if (!isHostMessage(message)) return
        if (message.type === 'ready' && !settled) {
          settled = true
          wasReady = true
          clearTimeout(timer)
          this.current = message
          resolve(message)
        } else if (message.type === 'failed') {
          fail(new EngineStartError(message.message, message.code, message.logFile))
        }
      })

      child.on('exit', (exitCode: number) => {
        const logFile = this.current?.logFile ?? null
        this.child = null
        this.current = null
        if (!wasReady) {
          const detail = this.stderrLines.join('\n')
          fail(new EngineStartError(`the engine exited with code ${exitCode} before it was ready${detail ? `:\n${detail}` : ''}`, 'exited', null))
          return
        }
        if (this.stopping) return
        this.options.onCrash({ exitCode, stderrTail: this.stderrLines.join('\n'), logFile })
      })
    })
  }

  /** Asks the host to close the workspace and release its lock; kills it if it does not within the timeout. */
  stop(): Promise<void> {
    const child = this.child
    if (!child) return Promise.resolve()
    this.stopping ??= new Promise<void>((resolve) => {
      const timer = setTimeout(() => child.kill(), this.options.stopTimeoutMs ?? 10_000)
      child.once('exit', () => {
        clearTimeout(timer)
        resolve()
      })
      child.postMessage({ type: 'stop' } satisfies MainMessage)
    })
    return this.stopping
  }

  private get startTimeoutMs(): number {
    return this.options.startTimeoutMs ?? 60_000
  }
}
