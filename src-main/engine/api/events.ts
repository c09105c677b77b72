import { EventEmitter } from 'node:events'
import type { z } from 'zod'

/**
 * Event topics (import progress, training progress, alerts) are declared by each
 * capability next to its operations, as zod schemas, and composed in `contract.ts`.
 * The bus is in-process; the HTTP transport relays it as server-sent events.
 */
export type EventTopics = Record<string, z.ZodType>

export function defineEvents<T extends EventTopics>(topics: T): T {
  return topics
}

export interface EngineEvent {
  topic: string
  /** Monotonic per engine, so a client can tell it missed nothing. */
  seq: number
  time: string
  payload: unknown
}

export class EventBus {
  private readonly emitter = new EventEmitter()
  private seq = 0

  constructor() {
    // Every open SSE stream and CLI progress line is a listener.
    this.emitter.setMaxListeners(0)
  }

  emit(topic: string, payload: unknown): void {
    const event: EngineEvent = { topic, seq: ++this.seq, time: new Date().toISOString(), payload }
    this.emitter.emit('event', event)
  }

  /** Listen to the given topics (a trailing `*` matches a prefix); returns the unsubscribe. */
  subscribe(topics: readonly string[] | null, listener: (event: EngineEvent) => void): () => void {
    const matches = (topic: string) =>
      topics === null ||
      topics.length === 0 ||
      topics.some((t) => (t.endsWith('*') ? topic.startsWith(t.slice(0, -1)) : t === topic))
    const wrapped = (event: EngineEvent) => {
      if (matches(event.topic)) listener(event)
    }
    this.emitter.on('event', wrapped)
    return () => this.emitter.off('event', wrapped)
  }
}
