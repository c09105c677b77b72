import { LatheError, type LatheErrorBody } from './errors.js'

/**
 * The typed client every consumer uses: the CLI (in process or against a running
 * engine), the renderer, tests. Pure module (fetch only), typed by the contract
 * through a type parameter so it imports no engine code.
 */
export type ContractShape = Record<string, { input: unknown; output: unknown }>

export interface ClientEvent {
  topic: string
  seq: number
  time: string
  payload: any
}

export interface ApiClient<C extends ContractShape> {
  call<K extends keyof C & string>(name: K, input: C[K]['input']): Promise<C[K]['output']>
  /** Listens to event topics (trailing `*` for a prefix); returns the unsubscribe. */
  subscribe(topics: string[], listener: (event: ClientEvent) => void): () => void
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

export function createHttpClient<C extends ContractShape>(options: HttpClientOptions): ApiClient<C> {
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
      return body as never
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
            await readServerSentEvents(response.body, (data) => listener(JSON.parse(data) as ClientEvent))
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
