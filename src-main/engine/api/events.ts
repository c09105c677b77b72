import { EventEmitter } from 'node:events'
import type { z } from 'zod'
import type { EventOf, TopicPattern } from './common/client.js'

/**
 * Event topics (import progress, training progress, alerts) are declared by each
 * capability next to its operations, as zod schemas, and composed in `contract.ts`.
 * The bus is in-process; the HTTP transport relays it as server-sent events.
 */
export type EventTopics = Record<string, z.ZodType>

export function defineEvents<T extends EventTopics>(topics: T): T {
  return topics
}

/** The payload of each topic of a capability's `defineEvents`. */
export type EventPayloadsOf<T extends EventTopics> = { [K in keyof T]: z.output<T[K]> }

/**
 * Every topic's payload, so `emit` and `subscribe` are typed by topic. Each capability
 * adds its own topics next to its `defineEvents`, by declaration merging:
 * `declare module '../api/events.js' { interface EventPayloadMap extends EventPayloadsOf<typeof dataEvents> {} }`.
 */
export interface EventPayloadMap {}

export type Topic = keyof EventPayloadMap & string

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

  emit<T extends Topic>(topic: T, payload: EventPayloadMap[T]): void {
    const event: EngineEvent = { topic, seq: ++this.seq, time: new Date().toISOString(), payload }
    this.emitter.emit('event', event)
  }

  /** Listen to the given topics (a trailing `*` matches a prefix); returns the unsubscribe. */
  subscribe<P extends TopicPattern<EventPayloadMap>>(topics: readonly P[], listener: (event: EventOf<EventPayloadMap, P>) => void): () => void {
    return this.subscribeAny(topics, listener as (event: EngineEvent) => void)
  }

  /** The transports' form: topics as a client sent them (null or [] for every topic), events untyped. */
  subscribeAny(topics: readonly string[] | null, listener: (event: EngineEvent) => void): () => void {
    const matches = (topic: string) =>
      topics === null || topics.length === 0 || topics.some((t) => (t.endsWith('*') ? topic.startsWith(t.slice(0, -1)) : t === topic))
    const wrapped = (event: EngineEvent) => {
      if (matches(event.topic)) listener(event)
    }
    this.emitter.on('event', wrapped)
    return () => this.emitter.off('event', wrapped)
  }
}
