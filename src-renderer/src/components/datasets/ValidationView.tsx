import type { Output } from '../../api.js'
import { EmptyState } from '../common/index.js'

type Validation = Output<'data.show'>['version']['validation']

export function statusBadge(status: 'passed' | 'failed' | 'none') {
  const cls = status === 'passed' ? 'badge badge-ok' : status === 'failed' ? 'badge badge-bad' : 'badge'
  return <span className={cls}>{status === 'none' ? 'no rules' : status}</span>
}

/** Each rule's outcome and, for a failing one, example rows (`__row` is the row number). */
export function ValidationView({ validation, ruleCount }: { validation: Validation; ruleCount: number }) {
  if (validation.results.length === 0) {
    return (
      <EmptyState title={ruleCount ? 'Not checked against the current rules yet' : 'This dataset has no validation rules'}>
        Add rules above and validate; they are checked at every import from then on (<code>lathe data validate NAME --rules rules.json</code> does the same).
      </EmptyState>
    )
  }
  return (
    <ul aria-label="Validation results" className="plain-list">
      {validation.results.map((result, i) => (
        <li key={i} className="rule-result" data-passed={result.passed}>
          {result.passed ? <span className="badge badge-ok">ok</span> : <span className="badge badge-bad">failed</span>}
          <div>
            <div>{result.message}</div>
            {result.examples.length > 0 && <pre className="mono">{result.examples.map((row) => JSON.stringify(row)).join('\n')}</pre>}
          </div>
        </li>
      ))}
    </ul>
  )
}
