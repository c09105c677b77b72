import { LatheError, type LatheErrorBody } from './errors.js'

/**
 * The typed client every consumer uses: the CLI (in process or against a running
 * engine), the renderer, tests. Pure module (fetch only), typed by the contract
 * through a type parameter so it imports no engine code.
 */
export type ContractShape = Record<string, { input: unknown; output: unknown }>

/** Event payloads by topic: the contract's `EventPayloads` (`Record<string, any>` leaves events untyped). */
export type EventMap = object

/** A topic of E, or a prefix ending in `*` (`training.*`). */
export type TopicPattern<E extends EventMap> = (keyof E & string) | `${string}*`

/** The topics of E a pattern matches. */
export type TopicsMatching<E extends EventMap, P extends string> = P extends `${infer Prefix}*`
  ? Extract<keyof E & string, `${Prefix}${string}`>
  : Extract<P, keyof E & string>

export interface TypedEvent<T extends string, Payload> {
  topic: T
  /** Monotonic per engine, so a client can tell it missed nothing. */
  seq: number
  time: string
  payload: Payload
}

/** What a listener to `P` receives: one member per matching topic, so `event.topic` narrows `event.payload`. */
export type EventOf<E extends EventMap, P extends string> = string extends keyof E
  ? TypedEvent<string, any>
  : { [K in TopicsMatching<E, P>]: TypedEvent<K, E[K]> }[TopicsMatching<E, P>]

/** An event as it crosses a transport, before its topic is known to the type system. */
export type ClientEvent = TypedEvent<string, any>

/**
 * `call(name, input)` typed by the contract; `subscribe(topics, listener)` typed by the
 * event map: `client.subscribe(['training.progress'], (e) => e.payload.runId)`. Both
 * transports and the renderer share this shape.
 */
export interface ApiClient<C extends ContractShape, E extends EventMap = Record<string, any>> {
  call<K extends keyof C & string>(name: K, input: C[K]['input']): Promise<C[K]['output']>
  /** Listens to event topics (trailing `*` for a prefix); returns the unsubscribe. */
  subscribe<P extends TopicPattern<E>>(topics: readonly P[], listener: (event: EventOf<E, P>) => void): () => void
  readonly transport: 'in-process' | 'http'
}

export interface HttpClientOptions {
  baseUrl: string
  /** A bearer token; without one the browser's session cookie signs the requests (`lathe ui`). */
  token?: string
  fetch?: typeof fetch
}

// The event stream reconnects after 1 s, then twice as long after each failure in a row,
// up to 30 s: an engine that is gone (or a page without a session) is not asked 87 times.
const RECONNECT_FIRST_MS = 1000
const RECONNECT_MAX_MS = 30_000

export function createHttpClient<C extends ContractShape, E extends EventMap = Record<string, any>>(options: HttpClientOptions): ApiClient<C, E> {
  const doFetch = options.fetch ?? globalThis.fetch.bind(globalThis)
  const base = options.baseUrl.replace(/\/$/, '')
  const headers: Record<string, string> = options.token ? { authorization: `Bearer ${options.token}` } : {}

  return {
    transport: 'http',
    async call(name, input) {
      let response: Response
      try {
        response = await doFetch(`${base}/api/v1/${name}`, {
          method: 'POST',
          headers: { ...headers, 'content-type': 'application/json' },
          body: JSON.stringify(input ?? {}),
        })
      } catch (error) {
        throw new LatheError('unavailable', `cannot reach the Lathe engine at ${base}: ${(error as Error).message}`)
      }
      const text = await response.text()
      let body: unknown
      try {
        body = text ? JSON.parse(text) : null
      } catch {
        throw new LatheError('unavailable', `the engine at ${base} answered ${response.status} with a body that is not JSON`)
      }
      if (!response.ok) {
        const error = (body as { error?: LatheErrorBody } | null)?.error
        if (error?.code) throw LatheError.fromBody(error)
        throw new Error(`engine error ${response.status}: ${text.slice(0, 500)}`)
      }
      return body as C[typeof name]['output']
    },
    subscribe(topics, listener) {
      const controller = new AbortController()
      void (async () => {
        let delay = RECONNECT_FIRST_MS
        while (!controller.signal.aborted) {
          try {
            const response = await doFetch(`${base}/api/v1/events?topics=${encodeURIComponent(topics.join(','))}`, {
              headers,
              signal: controller.signal,
            })
            if (!response.ok || !response.body) throw new Error(`events: HTTP ${response.status}`)
            delay = RECONNECT_FIRST_MS
            // The engine sends only the topics asked for, so each event is one of EventOf<E, P>.
            await readServerSentEvents(response.body, (data) => listener(JSON.parse(data) as EventOf<E, (typeof topics)[number]>))
          } catch {
            if (controller.signal.aborted) return
          }
          // The stream ended or failed: the engine restarted or a proxy closed it. Reconnect, backing off.
          await new Promise((resolve) => setTimeout(resolve, delay))
          delay = Math.min(delay * 2, RECONNECT_MAX_MS)
        }
      })()
      return () => controller.abort()
    },
  }
}

async function readServerSentEvents(body: ReadableStream<Uint8Array>, onData: (data: string) => void): Promise<void> {
  const reader = body.getReader()
  const decoder = new TextDecoder()
  let buffer = ''
  for (;;) {
    const { done, value } = await reader.read()
    if (done) return
    buffer += decoder.decode(value, { stream: true })
    let end: number
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const frame = buffer.slice(0, end)
      buffer = buffer.slice(end + 2)
      const data = frame
        .split('\n')
        .filter((line) => line.startsWith('data:'))
        .map((line) => line.slice(5).trimStart())
        .join('\n')
      if (data) onData(data)
    }
  }
}
