import { useCallback, useEffect, useRef, useState } from 'react'
import { api, type Contract, type Input, type Output } from '../../api.js'
import { useEngine } from '../../state/engine.js'
import { listen } from './eventHub.js'
import { freshnessOf, type EngineEventMessage } from './freshness.js'

export interface OperationState<K extends keyof Contract> {
  data: Output<K> | null
  error: unknown
  /** True until the first answer (or failure): "loading", distinct from an empty answer. */
  loading: boolean
  /** Call again (after a change, or from a Retry button). */
  reload(): void
}

export interface OperationOptions {
  /** Skip the call (an input that is not known yet). */
  enabled?: boolean
}

// A burst of events (a sweep finishing ten runs) becomes one read.
const COALESCE_MS = 150

/**
 * Calls one engine operation when the component mounts and whenever `input` changes
 * (compared as JSON), keeping the latest answer, and calls it again whenever an
 * event the operation's freshness entry names arrives (see `freshness.ts`). A page's
 * reads in one line: `const { data, error, loading, reload } = useOperation('data.list', {})`.
 */
export function useOperation<K extends keyof Contract & string>(name: K, input: Input<K>, options: OperationOptions = {}): OperationState<K> {
  const enabled = options.enabled ?? true
  const [data, setData] = useState<Output<K> | null>(null)
  const [error, setError] = useState<unknown>(null)
  const [loading, setLoading] = useState(enabled)
  const [generation, setGeneration] = useState(0)
  const key = JSON.stringify(input ?? {})
  const latest = useRef(0)
  const freshness = freshnessOf(name)

  useEffect(() => {
    if (!enabled) return
    const call = ++latest.current
    api.call(name, JSON.parse(key) as Input<K>).then(
      (output) => {
        // An older, slower answer must not overwrite a newer one.
        if (call !== latest.current) return
        setData(output)
        setError(null)
        setLoading(false)
      },
      (failure: unknown) => {
        if (call !== latest.current) return
        setError(failure)
        setLoading(false)
      },
    )
  }, [name, key, generation, enabled])

  // A new input is a new question: its answer is loading, not the old one's.
  useEffect(() => {
    setData(null)
    setLoading(enabled)
  }, [name, key, enabled])

  const reload = useCallback(() => setGeneration((g) => g + 1), [])

  const pending = useRef<ReturnType<typeof setTimeout> | null>(null)
  const soon = useCallback(() => {
    if (pending.current) return
    pending.current = setTimeout(() => {
      pending.current = null
      reload()
    }, COALESCE_MS)
  }, [reload])
  useEffect(() => () => void (pending.current && clearTimeout(pending.current)), [])

  useEngineEvents(enabled ? (freshness?.topics ?? []) : [], (event) => {
    if (!freshness?.when || freshness.when(event)) soon()
  })
  // A failure while the engine was away clears itself when it is back.
  const connected = useEngine((s) => s.connection === 'connected' && s.session === 'ok')
  const failed = error !== null
  useEffect(() => {
    if (connected && failed) reload()
  }, [connected, failed, reload])

  const every = enabled ? freshness?.everyMs : undefined
  useEffect(() => {
    if (!every) return
    const timer = setInterval(reload, every)
    return () => clearInterval(timer)
  }, [every, reload])

  return { data, error, loading, reload }
}

/** Subscribes to engine event topics for the component's lifetime (`'training.*'` for a prefix). */
export function useEngineEvents(topics: string[], listener: (event: EngineEventMessage) => void): void {
  const listenerRef = useRef(listener)
  listenerRef.current = listener
  const key = topics.join(',')
  useEffect(() => (key ? listen(key.split(','), (event) => listenerRef.current(event)) : undefined), [key])
}
