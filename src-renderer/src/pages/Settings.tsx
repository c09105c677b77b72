import { useEffect, useState } from 'react'
import { api, type Output } from '../api.js'

export default function SettingsPage() {
  const [backends, setBackends] = useState<Output<'compute.backends'> | null>(null)
  const [error, setError] = useState<string | null>(null)
  useEffect(() => {
    api.call('compute.backends', {}).then(setBackends, (e: Error) => setError(e.message))
  }, [])
  return (
    <section aria-labelledby="page-title">
      <h1 id="page-title">Settings</h1>
      <h2>Compute backends</h2>
      {error && <p role="alert">{error}</p>}
      {backends && (
        <table aria-label="Compute backends">
          <thead>
            <tr>
              <th>Backend</th>
              <th>Available</th>
              <th>Chosen</th>
              <th>Device</th>
              <th>Reason</th>
            </tr>
          </thead>
          <tbody>
            {backends.map((b) => (
              <tr key={b.name}>
                <td>{b.name}</td>
                <td>{b.available ? 'yes' : 'no'}</td>
                <td>{b.chosen ? 'chosen' : ''}</td>
                <td>{b.device ?? ''}</td>
                <td>{b.reason ?? ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  )
}
