/** Rows are true classes, columns predicted; cells shaded by their share of the row. */
export function ConfusionMatrix({ labels, matrix, caption }: { labels: string[]; matrix: number[][]; caption: string }) {
  return (
    <table className="confusion" aria-label={caption} style={{ borderCollapse: 'collapse', marginTop: 12 }}>
      <caption className="muted">{caption} (rows: true class, columns: predicted)</caption>
      <thead>
        <tr>
          <th />
          {labels.map((l) => (
            <th key={l} scope="col">
              {l}
            </th>
          ))}
        </tr>
      </thead>
      <tbody>
        {matrix.map((row, i) => {
          const total = row.reduce((a, b) => a + b, 0) || 1
          return (
            <tr key={labels[i]}>
              <th scope="row">{labels[i]}</th>
              {row.map((n, j) => (
                <td
                  key={j}
                  className={i === j ? 'diagonal' : undefined}
                  style={{
                    background: `color-mix(in srgb, var(--accent) ${Math.round((n / total) * 70)}%, transparent)`,
                    padding: '4px 10px',
                    textAlign: 'right',
                    fontWeight: i === j ? 600 : 400,
                  }}
                >
                  {n}
                </td>
              ))}
            </tr>
          )
        })}
      </tbody>
    </table>
  )
}
