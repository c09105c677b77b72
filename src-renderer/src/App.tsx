import { useEffect } from 'react'
import { ErrorBoundary, ToastHost, notify, useEngineEvents } from './components/common/index.js'
import { NoSession } from './components/common/NoSession.js'
import { SyncStatus } from './components/team/SyncStatus.js'
import { pageById, pageList } from './pages/index.js'
import { useEngine, watchEngine } from './state/engine.js'
import { hashOf, useNavigation } from './state/navigation.js'

export function App() {
  const { go } = useNavigation()
  const entry = pageById(useNavigation((s) => s.page))
  const page = entry.id
  const Page = entry.component
  const session = useEngine((s) => s.session)
  useEffect(() => watchEngine(), [])
  useAlertNotifications(page)
  useEffect(() => {
    document.title = `${entry.title} · Lathe`
  }, [entry.title])
  if (session === 'missing') return <NoSession />
  return (
    <div className="app">
      <a className="skip-link" href="#main-content" onClick={(e) => (e.preventDefault(), document.getElementById('main-content')?.focus())}>
        Skip to content
      </a>
      <nav className="sidebar" aria-label="Main">
        <div className="brand">
          <span className="brand-mark" aria-hidden="true">
            ◐
          </span>{' '}
          Lathe
        </div>
        <ul>
          {pageList.map(({ id, title, glyph }) => (
            <li key={id}>
              <a
                href={hashOf(id)}
                aria-current={id === page ? 'page' : undefined}
                onClick={(e) => {
                  e.preventDefault()
                  go(id)
                }}
              >
                <span className="nav-glyph" aria-hidden="true">
                  {glyph}
                </span>
                {title}
              </a>
            </li>
          ))}
        </ul>
      </nav>
      <main className="content" id="main-content" tabIndex={-1}>
        <ErrorBoundary key={page}>
          <Page />
        </ErrorBoundary>
      </main>
      <StatusBar />
      <ToastHost />
    </div>
  )
}

function StatusBar() {
  const { connection, workspace, backend, problem } = useEngine()
  const label = { connecting: 'Connecting…', connected: 'Engine connected', disconnected: 'Engine unreachable' }[connection]
  return (
    <footer className="statusbar" role="status" aria-label="Status">
      <span className={`conn conn-${connection}`} title={problem ?? undefined} data-testid="engine-connection">
        <span className="conn-dot" aria-hidden="true" />
        {label}
      </span>
      <span data-testid="status-workspace" title={workspace ?? undefined}>
        Workspace: <span className="mono">{workspace ?? '…'}</span>
      </span>
      <span data-testid="status-backend">Compute: {backend ?? '…'}</span>
      {connection === 'connected' && <SyncStatus />}
      {connection === 'disconnected' && problem && <span className="error">{problem}</span>}
    </footer>
  )
}

/**
 * Alerts reach the user on any page: a desktop notification through the preload
 * bridge in the app, a toast elsewhere (the Monitoring page shows its own).
 */
function useAlertNotifications(page: string): void {
  useEngineEvents(['monitoring.alert'], (event) => {
    const alert = event.payload?.alert as { model?: string; message?: string } | undefined
    if (!alert?.message) return
    const bridge = (window as unknown as { lathe?: { notify?: (title: string, body: string) => unknown } }).lathe
    if (bridge?.notify) void bridge.notify(`Lathe alert: ${alert.model ?? ''}`, alert.message)
    if (page !== 'monitoring') notify(alert.message, { kind: 'error', detail: 'See the Monitoring page' })
  })
}
