/**
 * Progress of long work (an import, a training run). `value` in 0..1; leave it out
 * while the total is unknown and the bar shows activity instead of a fraction.
 */
export function ProgressBar({ value, label, detail }: { value?: number | null; label: string; detail?: string }) {
  const known = typeof value === 'number' && Number.isFinite(value)
  const fraction = known ? Math.min(1, Math.max(0, value)) : 0
  return (
    <div className="progress">
      <div className="progress-label">
        <span>{label}</span>
        <span className="muted">{detail ?? (known ? `${Math.round(fraction * 100)}%` : '')}</span>
      </div>
      <div
        className={`progress-track${known ? '' : ' progress-indeterminate'}`}
        role="progressbar"
        aria-label={label}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={known ? Math.round(fraction * 100) : undefined}
      >
        <div className="progress-fill" style={known ? { width: `${fraction * 100}%` } : undefined} />
      </div>
    </div>
  )
}
