import type { EventBus } from './api/events.js'
import type { Workspace } from './workspace/index.js'

/**
 * What every handler gets: the open workspace, the event bus, and a place for a
 * capability to keep its long-lived parts (a job queue, a serving server) that the
 * engine disposes of on close.
 */
export interface EngineContext {
  readonly workspace: Workspace
  readonly events: EventBus
  /** The engine API's URL once it is listening (null in a pure in-process engine). */
  readonly apiUrl: () => string | null
  /** One instance per engine, created on first use. */
  singleton<T>(key: string, create: () => T): T
  /** Runs when the engine closes, last registered first. */
  onClose(dispose: () => Promise<void> | void): void
  /** Who is acting, for the audit log: the OS user. */
  readonly actor: string
  /**
   * Runs an operation of the contract by name, validated like any caller's input. For a
   * capability that the dependency table does not let import the one that owns the
   * operation: serving's `/feedback` route hands labels to monitoring this way.
   */
  call(name: string, input: unknown): Promise<unknown>
}
