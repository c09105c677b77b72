import os from 'node:os'
import { LatheError } from './api/common/errors.js'
import type { ApiClient } from './api/common/client.js'
import { isOperationName, operations, type Contract, type OperationName } from './contract.js'
import type { Operation } from './api/index.js'
import { EventBus } from './api/index.js'
import { parseInput } from './api/index.js'
import type { EngineContext } from './context.js'
import { EngineLog } from './log.js'
import { Workspace } from './workspace/index.js'

export interface OpenEngineOptions {
  workspaceDir: string
  /** Shown to a process refused the workspace: "in use by PID n (holder)". */
  holder?: string
}

/**
 * The engine: one open workspace and the contract's handlers over it. Every
 * transport ends in `Engine.call`, which validates the input at the boundary,
 * runs the handler and checks its output against the declared schema.
 */
export class Engine {
  readonly events = new EventBus()
  readonly log: EngineLog
  readonly context: EngineContext
  private readonly singletons = new Map<string, unknown>()
  private readonly disposers: Array<() => Promise<void> | void> = []
  private url: string | null = null
  private closing: Promise<void> | null = null

  private constructor(readonly workspace: Workspace) {
    this.log = new EngineLog(workspace.dir)
    const engine = this
    this.context = {
      workspace,
      events: this.events,
      apiUrl: () => engine.url,
      actor: os.userInfo().username,
      singleton<T>(key: string, create: () => T): T {
        if (!engine.singletons.has(key)) engine.singletons.set(key, create())
        return engine.singletons.get(key) as T
      },
      onClose(dispose) {
        engine.disposers.push(dispose)
      },
      call: (name, input) => engine.call(name as OperationName, input),
    }
  }

  static open(options: OpenEngineOptions): Engine {
    return new Engine(Workspace.open(options.workspaceDir, { holder: options.holder }))
  }

  get apiUrl(): string | null {
    return this.url
  }

  /** Called by the HTTP transport once it listens, so other processes can find this engine. */
  advertise(url: string, token: string): void {
    this.url = url
    this.workspace.lock.advertise(url, token)
  }

  async call<K extends OperationName>(name: K, input: unknown): Promise<Contract[K]['output']> {
    if (this.closing) throw new LatheError('unavailable', 'the engine is shutting down')
    if (!isOperationName(name)) throw new LatheError('not_found', `unknown operation "${name}"`, { field: 'operation' })
    const op = operations[name] as Operation
    const parsed = parseInput(op.input, input ?? {}, name)
    const result = await op.handler(parsed, this.context)
    const checked = op.output.safeParse(result)
    if (!checked.success) {
      // A handler broke its own contract: a bug, not the caller's fault.
      throw new Error(`operation ${name} returned output that does not match its schema: ${checked.error.message}`)
    }
    return checked.data as Contract[K]['output']
  }

  /** The in-process transport: same contract, no serialization. */
  client(): ApiClient<Contract> {
    return {
      transport: 'in-process',
      call: (name, input) => this.call(name, input),
      subscribe: (topics, listener) => this.events.subscribe(topics, listener),
    }
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      for (const dispose of this.disposers.reverse()) {
        try {
          await dispose()
        } catch (error) {
          this.log.write('error', 'while closing the engine', error)
        }
      }
      await this.workspace.close()
    })()
    return this.closing
  }
}
