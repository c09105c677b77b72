import { useEffect, useState } from 'react'
import { api, type Output } from './api.js'
import DatasetsPage from './pages/Datasets.js'
import ModelsPage from './pages/Models.js'
import MonitoringPage from './pages/Monitoring.js'
import RunsPage from './pages/Runs.js'
import ServingPage from './pages/Serving.js'
import SettingsPage from './pages/Settings.js'
import { pages, useNavigation, type PageId } from './state/navigation.js'

const titles: Record<PageId, string> = {
  datasets: 'Datasets',
  runs: 'Runs',
  models: 'Models',
  serving: 'Serving',
  monitoring: 'Monitoring',
  settings: 'Settings',
}

const components: Record<PageId, () => JSX.Element> = {
  datasets: DatasetsPage,
  runs: RunsPage,
  models: ModelsPage,
  serving: ServingPage,
  monitoring: MonitoringPage,
  settings: SettingsPage,
}

export function App() {
  const { page, go } = useNavigation()
  const Page = components[page]
  return (
    <div className="app">
      <nav className="sidebar" aria-label="Main">
        <div className="brand">Lathe</div>
        <ul>
          {pages.map((id) => (
            <li key={id}>
              <a href={`#/${id}`} aria-current={id === page ? 'page' : undefined} onClick={() => go(id)}>
                {titles[id]}
              </a>
            </li>
          ))}
        </ul>
      </nav>
      <main className="content">
        <Page />
      </main>
      <StatusBar />
    </div>
  )
}

function StatusBar() {
  const [workspace, setWorkspace] = useState<Output<'workspace.info'> | null>(null)
  const [backend, setBackend] = useState<string>('…')
  const [error, setError] = useState<string | null>(null)
  useEffect(() => {
    api.call('workspace.info', {}).then(setWorkspace, (e: Error) => setError(e.message))
    api.call('compute.backends', {}).then(
      (all) => setBackend(all.find((b) => b.chosen)?.name ?? 'none'),
      (e: Error) => setError(e.message),
    )
  }, [])
  return (
    <footer className="statusbar" role="status">
      {error ? (
        <span className="error">Engine: {error}</span>
      ) : (
        <>
          <span>Workspace: {workspace?.dir ?? '…'}</span>
          <span>Compute: {backend}</span>
        </>
      )}
    </footer>
  )
}
