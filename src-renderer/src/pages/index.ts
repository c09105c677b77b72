import type { ComponentType } from 'react'
import DatasetsPage from './Datasets.js'
import ModelsPage from './Models.js'
import MonitoringPage from './Monitoring.js'
import PipelinesPage from './Pipelines.js'
import RunsPage from './Runs.js'
import ServingPage from './Serving.js'
import SettingsPage from './Settings.js'
import TeamPage from './Team.js'

export interface PageEntry {
  id: string
  title: string
  /** Drawn as text so nothing is fetched (the app runs offline). */
  glyph: string
  component: ComponentType
}

/**
 * The pages in the order the sidebar shows them. A new page is one line here (and its
 * file): the router, the sidebar and the window title all read this list.
 */
export const pageList: PageEntry[] = [
  { id: 'datasets', title: 'Datasets', glyph: '▤', component: DatasetsPage },
  { id: 'runs', title: 'Runs', glyph: '↻', component: RunsPage },
  { id: 'models', title: 'Models', glyph: '◆', component: ModelsPage },
  { id: 'serving', title: 'Serving', glyph: '⇄', component: ServingPage },
  { id: 'monitoring', title: 'Monitoring', glyph: '∿', component: MonitoringPage },
  { id: 'pipelines', title: 'Pipelines', glyph: '⋔', component: PipelinesPage },
  { id: 'team', title: 'Team', glyph: '⇅', component: TeamPage },
  { id: 'settings', title: 'Settings', glyph: '⚙', component: SettingsPage },
]

export function pageById(id: string): PageEntry {
  return pageList.find((p) => p.id === id) ?? pageList[0]!
}
