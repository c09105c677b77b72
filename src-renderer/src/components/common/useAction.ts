import { useCallback, useRef, useState } from 'react'
import { notify } from './toasts.js'

export interface ActionState<A extends unknown[], R> {
  /** Runs the action; resolves to its result, or undefined when it failed (the error is in `error`). */
  run(...args: A): Promise<R | undefined>
  busy: boolean
  error: unknown
  clear(): void
}

export interface ActionOptions<R> {
  /** A toast on success. */
  success?: string | ((result: R) => string)
}

/**
 * Busy and error state for one thing a person does (save, promote, import): the button
 * disables itself while it runs, a second click does nothing, and the failure stays
 * beside the form (`<ErrorBanner error={action.error} />`) until the next try.
 */
export function useAction<A extends unknown[], R>(action: (...args: A) => Promise<R>, options: ActionOptions<R> = {}): ActionState<A, R> {
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<unknown>(null)
  const running = useRef(false)
  const latest = useRef({ action, options })
  latest.current = { action, options }

  const run = useCallback(async (...args: A) => {
    if (running.current) return undefined
    running.current = true
    setBusy(true)
    setError(null)
    try {
      const result = await latest.current.action(...args)
      const { success } = latest.current.options
      if (success) notify(typeof success === 'function' ? success(result) : success, { kind: 'success' })
      return result
    } catch (failure) {
      setError(failure)
      return undefined
    } finally {
      running.current = false
      setBusy(false)
    }
  }, [])
  const clear = useCallback(() => setError(null), [])
  return { run, busy, error, clear }
}
