import { useState } from 'react'
import { Card, ErrorBanner, useOperation } from '../components/common/index.js'
import { Deployments } from '../components/serving/Deployments.js'
import { curlExample } from '../components/serving/examples.js'
import { LiveChart, RecentRequests } from '../components/serving/LiveTraffic.js'
import { ServerControls } from '../components/serving/ServerControls.js'
import { TryIt } from '../components/serving/TryIt.js'
import '../components/serving/serving.css'

/** The local endpoint: where it listens, what it serves, a form to try a model, and live traffic. */
export default function ServingPage() {
  const status = useOperation('serving.status', {})
  const [selected, setSelected] = useState<string | null>(null)
  // Alias moves, starts and stops from the CLI, and the log counters keep it fresh (freshness.ts).
  const reload = status.reload
  const refresh = reload

  const s = status.data
  const current = s?.deployments.find((d) => d.model === selected) ?? s?.deployments[0] ?? null

  return (
    <section aria-labelledby="page-title" className="page">
      <h1 id="page-title">Serving</h1>
      <ErrorBanner error={status.error} onRetry={reload} />
      {s && (
        <>
          <Card title="Endpoint">
            <ServerControls status={s} onChange={refresh} />
          </Card>
          <Card title="Deployments">
            <Deployments status={s} selected={current?.model ?? null} onSelect={setSelected} onChange={refresh} />
          </Card>
          {current?.signature && (
            <Card title={`Try ${current.model}${current.version === null ? '' : ` v${current.version}`}`}>
              <TryIt model={current.model} signature={current.signature} running={s.running} />
              <h3>From a terminal</h3>
              <CopyableCode text={curlExample(s.url ?? 'http://127.0.0.1:7071', current.model, current.isDefault, current.signature, s.token)} />
            </Card>
          )}
          <Card title="Traffic">
            <LiveChart />
          </Card>
          <Card title="Recent requests">
            <RecentRequests />
          </Card>
        </>
      )}
    </section>
  )
}

function CopyableCode({ text }: { text: string }) {
  const [copied, setCopied] = useState(false)
  return (
    <div>
      <pre className="mono wrap-pre" aria-label="curl example">
        {text}
      </pre>
      <button
        className="btn"
        type="button"
        onClick={() =>
          navigator.clipboard.writeText(text).then(
            () => setCopied(true),
            () => setCopied(false),
          )
        }
      >
        {copied ? 'Copied' : 'Copy'}
      </button>
    </div>
  )
}
