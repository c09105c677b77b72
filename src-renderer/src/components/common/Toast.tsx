import { describeError } from './errors.js'
import { useToasts } from './toasts.js'

/** Mounted once by App; renders the queue from `notify()` / `notifyError()`. */
export function ToastHost() {
  const { toasts, dismiss } = useToasts()
  return (
    <div className="toast-host" aria-live="polite">
      {toasts.map((toast) => (
        <div key={toast.id} className={`toast toast-${toast.kind}`} role={toast.kind === 'error' ? 'alert' : 'status'}>
          <div className="toast-text">
            <strong>{toast.title}</strong>
            {toast.detail && <span className="muted">{toast.detail}</span>}
          </div>
          <button type="button" className="btn btn-ghost" aria-label="Dismiss" onClick={() => dismiss(toast.id)}>
            ×
          </button>
        </div>
      ))}
    </div>
  )
}

/**
 * An inline error where the failed thing would have been (a table that did not load,
 * a form that was refused). Shows a LatheError's message and the field it names.
 */
export function ErrorBanner({ error, onRetry }: { error: unknown; onRetry?: () => void }) {
  if (error === null || error === undefined) return null
  const { title, detail } = describeError(error)
  return (
    <div className="error-banner" role="alert">
      <div>
        <strong>{title}</strong>
        {detail && <div className="muted">{detail}</div>}
      </div>
      {onRetry && (
        <button type="button" className="btn" onClick={onRetry}>
          Retry
        </button>
      )}
    </div>
  )
}
