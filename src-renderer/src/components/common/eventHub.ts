import { api } from '../../api.js'
import type { EngineEventMessage } from './freshness.js'

type Listener = (event: EngineEventMessage) => void

const listeners = new Map<Listener, readonly string[]>()
let close: (() => void) | null = null

function matches(patterns: readonly string[], topic: string): boolean {
  return patterns.some((t) => (t.endsWith('*') ? topic.startsWith(t.slice(0, -1)) : t === topic))
}

/**
 * One event stream per page, shared by every component that listens: a browser
 * allows six connections to an origin, and a stream per listener would leave none
 * for the calls. Opened with the first listener, closed with the last.
 */
export function listen(topics: readonly string[], listener: Listener): () => void {
  listeners.set(listener, topics)
  if (!close) {
    close = api.subscribe([], (event) => {
      for (const [l, patterns] of [...listeners]) if (matches(patterns, event.topic)) l(event)
    })
  }
  return () => {
    listeners.delete(listener)
    if (listeners.size === 0 && close) {
      close()
      close = null
    }
  }
}
