import { useState } from 'react'
import { api, type Output } from '../../api.js'
import { Facts, notifyError } from '../common/index.js'
import './serving.css'

type Status = Output<'serving.status'>

/** Start/stop the endpoint and show where it listens. */
export function ServerControls({ status, onChange }: { status: Status; onChange: () => void }) {
  const [port, setPort] = useState('7071')
  const [busy, setBusy] = useState(false)

  const act = async (run: () => Promise<unknown>) => {
    setBusy(true)
    try {
      await run()
    } catch (error) {
      notifyError(error)
    } finally {
      setBusy(false)
      onChange()
    }
  }

  if (!status.running) {
    return (
      <form
        className="toolbar"
        onSubmit={(e) => {
          e.preventDefault()
          void act(() => api.call('serving.start', { port: Number(port) }))
        }}
      >
        <label className="field">
          Port
          <input value={port} onChange={(e) => setPort(e.target.value)} inputMode="numeric" size={6} aria-label="Port" />
        </label>
        <button className="btn btn-primary" type="submit" disabled={busy}>
          Start endpoint
        </button>
        <span className="muted">Stopped. Deployed models start answering when the endpoint runs.</span>
      </form>
    )
  }
  return (
    <div className="toolbar spread-top">
      <Facts
        items={[
          [
            'Endpoint',
            <span className="mono" data-testid="endpoint-url">
              {status.url}
            </span>,
          ],
          [
            'Access',
            status.token ? (
              <span>
                bearer token required: <span className="mono">{status.token}</span>
              </span>
            ) : (
              'loopback only, no token'
            ),
          ],
          ['Prediction log', <LogFacts log={status.log} />],
          ['Micro-batching', status.batching.enabled ? `on (up to ${status.batching.maxBatchRows} rows per run)` : 'off'],
        ]}
      />
      <button className="btn" type="button" disabled={busy} onClick={() => void act(() => api.call('serving.stop', {}))}>
        Stop endpoint
      </button>
    </div>
  )
}

const LOG_FULL = { limit: 'the retention size limit is reached', disk: 'the disk is full' } as const

/** Rows written and dropped; a full log says why it is dropping new rows. */
function LogFacts({ log }: { log: { writtenRows: number; queuedRows: number; droppedRows: number; full: 'limit' | 'disk' | null; bytes: number } }) {
  const mb = (log.bytes / 1024 / 1024).toFixed(1)
  return (
    <span data-testid="log-facts">
      {`${log.writtenRows} rows written, ${log.queuedRows} queued, ${log.droppedRows} dropped, ${mb} MB on disk`}
      {log.full ? <span className="badge badge-bad">{`new rows are dropped: ${LOG_FULL[log.full]}`}</span> : null}
    </span>
  )
}
