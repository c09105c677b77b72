import { create } from 'zustand'
import { describeError } from './errors.js'

export type ToastKind = 'info' | 'success' | 'error'

export interface Toast {
  id: number
  kind: ToastKind
  title: string
  detail?: string
}

interface ToastState {
  toasts: Toast[]
  push(toast: Omit<Toast, 'id'>): number
  dismiss(id: number): void
}

let nextId = 1

/** The app-wide toast queue; `<ToastHost />` (mounted once in App) renders it. */
export const useToasts = create<ToastState>((set) => ({
  toasts: [],
  push(toast) {
    const id = nextId++
    // Keep the last five: a burst of failures must not cover the page.
    set((state) => ({ toasts: [...state.toasts, { ...toast, id }].slice(-5) }))
    return id
  },
  dismiss(id) {
    set((state) => ({ toasts: state.toasts.filter((t) => t.id !== id) }))
  },
}))

/** Say something short; info and success toasts leave by themselves, errors stay until dismissed. */
export function notify(title: string, options: ToastKind | { kind?: ToastKind; detail?: string } = {}): void {
  const { kind = 'info', detail } = typeof options === 'string' ? { kind: options } : options
  const id = useToasts.getState().push({ kind, title, detail })
  if (kind !== 'error') setTimeout(() => useToasts.getState().dismiss(id), 5000)
}

/** Show a failed call as an error toast: a LatheError's own message, or "internal error". */
export function notifyError(error: unknown): void {
  const { title, detail } = describeError(error)
  notify(title, { kind: 'error', detail })
}
