import type { StoredReport } from './store.js'
import type { FeatureDrift } from './drift/report.js'

interface DriftShape {
  model?: string
  version?: number
  reference: { label: string; rows: number }
  current: { label: string; rows: number }
  dataset_drift: boolean
  drift_share: number
  drift_share_threshold: number
  drifted_features: number
  features: FeatureDrift[]
  prediction: FeatureDrift | null
}

const escape = (text: unknown) => String(text).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!)

function stat(x: number | null | undefined): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return '—'
  if (x === 0) return '0'
  return Math.abs(x) >= 1e-3 && Math.abs(x) < 1e5 ? x.toFixed(4) : x.toExponential(2)
}

/** Reference and current shares as paired bars, in SVG: the report needs no script and no network. */
function overlay(feature: FeatureDrift): string {
  const pairs =
    feature.chart.kind === 'histogram'
      ? feature.chart.bins.map((b) => ({ label: stat(b.start), reference: b.reference, current: b.current }))
      : feature.chart.categories.map((c) => ({ label: c.name, reference: c.reference, current: c.current }))
  const width = 360
  const height = 140
  const max = Math.max(...pairs.flatMap((p) => [p.reference, p.current]), 1e-9)
  const slot = (width - 40) / Math.max(pairs.length, 1)
  const bars = pairs
    .map((p, i) => {
      const x = 36 + i * slot
      const bar = Math.max(slot / 2 - 1, 1)
      const rh = (p.reference / max) * (height - 30)
      const ch = (p.current / max) * (height - 30)
      return (
        `<rect x="${x.toFixed(1)}" y="${(height - 18 - rh).toFixed(1)}" width="${bar.toFixed(1)}" height="${rh.toFixed(1)}" fill="#64748b"><title>reference ${escape(p.label)}: ${(p.reference * 100).toFixed(1)}%</title></rect>` +
        `<rect x="${(x + bar).toFixed(1)}" y="${(height - 18 - ch).toFixed(1)}" width="${bar.toFixed(1)}" height="${ch.toFixed(1)}" fill="#2f6fde"><title>current ${escape(p.label)}: ${(p.current * 100).toFixed(1)}%</title></rect>`
      )
    })
    .join('')
  const first = pairs[0]?.label ?? ''
  const last = pairs.at(-1)?.label ?? ''
  return `<svg width="${width}" height="${height}" role="img" aria-label="Distribution of ${escape(feature.name)}">
  <line x1="34" y1="${height - 18}" x2="${width}" y2="${height - 18}" stroke="#999"/><line x1="34" y1="8" x2="34" y2="${height - 18}" stroke="#999"/>
  <text x="30" y="14" font-size="10" text-anchor="end">${(max * 100).toFixed(0)}%</text><text x="30" y="${height - 18}" font-size="10" text-anchor="end">0</text>
  <text x="36" y="${height - 4}" font-size="10">${escape(first)}</text><text x="${width}" y="${height - 4}" font-size="10" text-anchor="end">${escape(last)}</text>
  ${bars}</svg>`
}

/**
 * A drift report as one HTML file that opens anywhere, offline: inline CSS, inline SVG,
 * no script, no font or image fetched. The JSON the UI reads is embedded too, so the
 * file is the whole record.
 */
export function reportHtml(stored: StoredReport): string {
  const drift = (stored.report as { drift?: DriftShape | null } | null)?.drift ?? null
  const title = `Drift report: ${stored.model}${stored.version === null ? '' : ` v${stored.version}`}, ${stored.time}`
  const features = drift ? [...drift.features, ...(drift.prediction ? [drift.prediction] : [])] : []
  const rows = features
    .map(
      (f) => `<tr class="${f.drifted ? 'drifted' : ''}"><td>${escape(f.name)}</td><td>${escape(f.kind)}</td><td>${escape(f.method)}</td>
<td class="num">${stat(f.statistic)}</td><td class="num">${f.p_value === null ? '—' : stat(f.p_value)}</td><td class="num">${stat(f.threshold)}</td>
<td><span class="badge ${f.drifted ? 'bad' : 'ok'}">${f.drifted ? 'drifted' : 'stable'}</span></td></tr>`,
    )
    .join('\n')
  const charts = features
    .map((f) => `<figure><figcaption><strong>${escape(f.name)}</strong> ${f.drifted ? 'drifted' : 'stable'}</figcaption>${overlay(f)}</figure>`)
    .join('\n')
  const summary = drift
    ? `<p>Reference: ${escape(drift.reference.label)} (${drift.reference.rows} rows). Current: ${escape(drift.current.label)} (${drift.current.rows} rows).</p>
<p class="verdict ${drift.dataset_drift ? 'bad' : 'ok'}">Dataset drift: <strong>${drift.dataset_drift ? 'yes' : 'no'}</strong>: ${drift.drifted_features} of ${drift.features.length} features drifted (share ${stat(drift.drift_share)}, threshold ${stat(drift.drift_share_threshold)}).</p>`
    : '<p>This report has no drift section.</p>'
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>${escape(title)}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 24px; color: #1b1c1f; max-width: 1100px; }
table { border-collapse: collapse; width: 100%; margin: 12px 0 24px; }
th, td { text-align: left; padding: 4px 10px; border-bottom: 1px solid #ddd; }
th { background: #eef0f3; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.drifted td:first-child { font-weight: 600; }
.badge { padding: 1px 8px; border-radius: 999px; font-size: 12px; } .badge.bad { background: #fdecea; color: #c9372c; } .badge.ok { background: #e7f5ec; color: #1f8a4c; }
.verdict.bad strong { color: #c9372c; } .verdict.ok strong { color: #1f8a4c; }
.charts { display: flex; flex-wrap: wrap; gap: 16px; } figure { margin: 0; } .legend span { display: inline-block; width: 10px; height: 10px; margin: 0 4px 0 12px; }
</style></head>
<body>
<h1>${escape(title)}</h1>
${summary}
<h2>Drift by column</h2>
<table><thead><tr><th>Column</th><th>Type</th><th>Test</th><th>Statistic</th><th>p-value</th><th>Threshold</th><th>Verdict</th></tr></thead>
<tbody>
${rows}
</tbody></table>
<h2>Distributions</h2>
<p class="legend"><span style="background:#64748b"></span>reference<span style="background:#2f6fde"></span>current</p>
<div class="charts">
${charts}
</div>
<p><small>Exported by Lathe. Report id ${escape(stored.id)}.</small></p>
<script type="application/json" id="lathe-report">${JSON.stringify(stored).replace(/</g, '\\u003c')}</script>
</body></html>
`
}
