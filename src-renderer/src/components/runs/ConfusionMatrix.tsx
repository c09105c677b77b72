import { foldConfusion } from './fold.js'
import './runs.css'

// More classes than this are folded: the largest ones and one "other" row and column.
const MAX_CLASSES = 12

/** Rows are true classes, columns predicted; cells shaded by their share of the row. */
export function ConfusionMatrix({ labels, matrix, caption }: { labels: string[]; matrix: number[][]; caption: string }) {
  const folded = foldConfusion(labels, matrix, MAX_CLASSES)
  return (
    <div className="confusion-wrap">
      {folded.hidden > 0 && (
        <p className="muted" role="note">
          {labels.length.toLocaleString()} classes: the {folded.labels.length - 1} with the most examples are shown, the other {folded.hidden.toLocaleString()}{' '}
          are summed in “other”.
        </p>
      )}
      <table className="confusion" aria-label={caption}>
        <caption className="muted">{caption} (rows: true class, columns: predicted)</caption>
        <thead>
          <tr>
            <th />
            {folded.labels.map((l, j) => (
              <th key={j} scope="col">
                {l}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {folded.matrix.map((row, i) => {
            const total = row.reduce((a, b) => a + b, 0) || 1
            return (
              <tr key={i}>
                <th scope="row">{folded.labels[i]}</th>
                {row.map((n, j) => (
                  <td key={j} className={i === j ? 'diagonal' : undefined} style={{ '--share': `${Math.round((n / total) * 70)}%` } as React.CSSProperties}>
                    {n.toLocaleString()}
                  </td>
                ))}
              </tr>
            )
          })}
        </tbody>
      </table>
    </div>
  )
}
