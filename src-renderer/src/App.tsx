import { useEffect, type ComponentType } from 'react'
import { ErrorBoundary, ToastHost, notify, useEngineEvents } from './components/common/index.js'
import DatasetsPage from './pages/Datasets.js'
import ModelsPage from './pages/Models.js'
import MonitoringPage from './pages/Monitoring.js'
import PipelinesPage from './pages/Pipelines.js'
import RunsPage from './pages/Runs.js'
import ServingPage from './pages/Serving.js'
import SettingsPage from './pages/Settings.js'
import { useEngine, watchEngine } from './state/engine.js'
import { pages, useNavigation, type PageId } from './state/navigation.js'

const titles: Record<PageId, string> = {
  datasets: 'Datasets',
  runs: 'Runs',
  models: 'Models',
  serving: 'Serving',
  monitoring: 'Monitoring',
  pipelines: 'Pipelines',
  settings: 'Settings',
}

// One glyph per page, drawn as text so nothing is fetched (the app runs offline).
const glyphs: Record<PageId, string> = {
  datasets: '▤',
  runs: '↻',
  models: '◆',
  serving: '⇄',
  monitoring: '∿',
  pipelines: '⋔',
  settings: '⚙',
}

const components: Record<PageId, ComponentType> = {
  datasets: DatasetsPage,
  runs: RunsPage,
  models: ModelsPage,
  serving: ServingPage,
  monitoring: MonitoringPage,
  pipelines: PipelinesPage,
  settings: SettingsPage,
}

export function App() {
  const { page, go } = useNavigation()
  const Page = components[page]
  useEffect(() => watchEngine(), [])
  useAlertNotifications(page)
  useEffect(() => {
    document.title = `${titles[page]} · Lathe`
  }, [page])
  return (
    <div className="app">
      <a className="skip-link" href="#main-content" onClick={(e) => (e.preventDefault(), document.getElementById('main-content')?.focus())}>
        Skip to content
      </a>
      <nav className="sidebar" aria-label="Main">
        <div className="brand">
          <span className="brand-mark" aria-hidden="true">◐</span> Lathe
        </div>
        <ul>
          {pages.map((id) => (
            <li key={id}>
              <a href={`#/${id}`} aria-current={id === page ? 'page' : undefined} onClick={() => go(id)}>
                <span className="nav-glyph" aria-hidden="true">
                  {glyphs[id]}
                </span>
                {titles[id]}
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
      {connection === 'disconnected' && problem && <span className="error">{problem}</span>}
    </footer>
  )
}

/**
 * Alerts reach the user on any page: a desktop notification through the preload
 * bridge in the app, a toast elsewhere (the Monitoring page shows its own).
 */
function useAlertNotifications(page: PageId): void {
  useEngineEvents(['monitoring.alert'], (event) => {
    const alert = event.payload?.alert as { model?: string; message?: string } | undefined
    if (!alert?.message) return
    const bridge = (window as unknown as { lathe?: { notify?: (title: string, body: string) => unknown } }).lathe
    if (bridge?.notify) void bridge.notify(`Lathe alert: ${alert.model ?? ''}`, alert.message)
    if (page !== 'monitoring') notify(alert.message, { kind: 'error', detail: 'See the Monitoring page' })
  })
}
