import { useCallback, useEffect, useRef, useState } from 'react'
import type { EventOf, TopicPattern } from '../../../../src-main/engine/api/common/client.js'
import { api, type Contract, type EventPayloads, type Input, type Output } from '../../api.js'

export interface OperationState<K extends keyof Contract> {
  data: Output<K> | null
  error: unknown
  loading: boolean
  /** Call again (after a change, or from a Retry button). */
  reload(): void
}

/**
 * Calls one engine operation when the component mounts and whenever `input` changes
 * (compared as JSON), keeping the latest answer. A page's reads in one line:
 * `const { data, error, reload } = useOperation('data.list', {})`.
 */
export function useOperation<K extends keyof Contract & string>(name: K, input: Input<K>): OperationState<K> {
  const [data, setData] = useState<Output<K> | null>(null)
  const [error, setError] = useState<unknown>(null)
  const [loading, setLoading] = useState(true)
  const [generation, setGeneration] = useState(0)
  const key = JSON.stringify(input ?? {})
  const latest = useRef(0)

  useEffect(() => {
    const call = ++latest.current
    setLoading(true)
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
  }, [name, key, generation])

  const reload = useCallback(() => setGeneration((g) => g + 1), [])
  return { data, error, loading, reload }
}

/** Subscribes to engine event topics for the component's lifetime (`'training.*'` for a prefix). */
export function useEngineEvents<P extends TopicPattern<EventPayloads>>(topics: P[], listener: (event: EventOf<EventPayloads, P>) => void): void {
  const listenerRef = useRef(listener)
  listenerRef.current = listener
  const key = topics.join(',')
  // The key is the same topics joined, so splitting it gives back P[].
  useEffect(() => api.subscribe(key.split(',') as P[], (event) => listenerRef.current(event)), [key])
}
