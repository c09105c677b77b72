import type { ReactNode } from 'react'
import type { Output } from '../api.js'
import { Card, EmptyState, ErrorBanner, Facts, useOperation } from '../components/common/index.js'
import '../components/datasets/datasets.css'
import { ImportPanel } from '../components/datasets/ImportPanel.js'
import { PreviewTable } from '../components/datasets/PreviewTable.js'
import { ProfileView } from '../components/datasets/ProfileView.js'
import { statusBadge, ValidationView } from '../components/datasets/ValidationView.js'
import { SyncMark, useSyncMarks } from '../components/team/SyncMark.js'
import { useNavigation, useRoutePath } from '../state/navigation.js'

type Tab = 'preview' | 'profile' | 'validation' | 'lineage'
const tabs: Array<[Tab, string]> = [
  ['preview', 'Preview'],
  ['profile', 'Profile'],
  ['validation', 'Validation'],
  ['lineage', 'Lineage'],
]

export default function DatasetsPage() {
  const list = useOperation('data.list', {})
  // The URL names what is open: #/datasets/<name>/<version>/<tab>.
  const [routeName, routeVersion, routeTab] = useRoutePath()
  const { go } = useNavigation()
  const setSelected = (ref: string) => {
    const [name, version] = ref.split('@')
    go('datasets', name, version)
  }
  const datasets = list.data?.datasets ?? []
  const marks = useSyncMarks({ datasets: datasets.map((d) => d.name) })
  const current = routeName ?? datasets[0]?.name ?? null
  const currentRef = current ? `${current}@${routeVersion ?? datasets.find((d) => d.name === current)?.latest?.version ?? 1}` : null

  return (
    <section aria-labelledby="page-title">
      <h1 id="page-title">Datasets</h1>
      <div className="datasets-layout">
        <div className="datasets-side">
          <Card title="Import">
            <ImportPanel
              onImported={(name) => {
                go('datasets', name)
                list.reload()
              }}
            />
          </Card>
          <Card title="Datasets">
            {list.error ? <ErrorBanner error={list.error} onRetry={list.reload} /> : null}
            {list.loading ? (
              <p className="muted">Loading datasets…</p>
            ) : datasets.length === 0 ? (
              <EmptyState title="No datasets yet">Import a file above, or run lathe data import FILE --name NAME.</EmptyState>
            ) : (
              <ul className="dataset-list" aria-label="Datasets">
                {datasets.map((d) => (
                  <li key={d.name}>
                    <button aria-current={current === d.name} onClick={() => go('datasets', d.name)}>
                      {d.name}
                      <span className="sub">
                        {d.versions} version{d.versions === 1 ? '' : 's'} · {d.latest?.rows.toLocaleString()} rows ·{' '}
                        {d.latest?.validation.status === 'failed' ? 'validation failed' : d.latest?.validation.status === 'passed' ? 'valid' : 'no rules'}
                        <SyncMark marks={marks} kind="datasets" id={d.name} />
                      </span>
                    </button>
                  </li>
                ))}
              </ul>
            )}
          </Card>
        </div>
        {currentRef ? <VersionDetail key={currentRef} dataRef={currentRef} tab={(routeTab as Tab) ?? 'preview'} onSelect={setSelected} /> : <div />}
      </div>
    </section>
  )
}

function VersionDetail({ dataRef: ref, tab: asked, onSelect }: { dataRef: string; tab: Tab; onSelect: (ref: string) => void }) {
  const { replace } = useNavigation()
  const tab: Tab = tabs.some(([id]) => id === asked) ? asked : 'preview'
  const [name, version] = ref.split('@')
  const setTab = (t: Tab) => replace(name, version, t)
  const setRef = (r: string) => onSelect(r)
  const shown = useOperation('data.show', { dataset: ref })
  const marks = useSyncMarks({ datasetVersions: shown.data ? [shown.data.version.versionId] : [] })
  if (shown.error) return <ErrorBanner error={shown.error} onRetry={shown.reload} />
  if (!shown.data) return <p className="muted">Loading {ref}…</p>
  const { version: v, versions, rules, children } = shown.data
  return (
    <Card
      title={`${v.dataset}@${v.version}`}
      actions={
        <label className="field">
          Version
          <select aria-label="Version" value={v.version} onChange={(e) => setRef(`${v.dataset}@${e.target.value}`)}>
            {versions.map((x) => (
              <option key={x.version} value={x.version}>
                {x.version} ({x.rows} rows, {x.validation})
              </option>
            ))}
          </select>
        </label>
      }
    >
      <Facts
        items={[
          ['Rows', v.rows.toLocaleString()],
          ['Columns', v.columns.length],
          ['Source', `${v.origin === 'transform' ? 'SQL transform' : v.source}`],
          ['Validation', statusBadge(v.validation.status)],
          ['Created', new Date(v.createdAt).toLocaleString()],
          ...(marks?.connected ? [['Team', <SyncMark marks={marks} kind="datasetVersions" id={v.versionId} />] as [string, ReactNode]] : []),
        ]}
      />
      <div className="tabs" role="tablist">
        {tabs.map(([id, label]) => (
          <button key={id} role="tab" aria-selected={tab === id} onClick={() => setTab(id)}>
            {label}
          </button>
        ))}
      </div>
      <div role="tabpanel">
        {tab === 'preview' && <PreviewTable dataset={`${v.dataset}@${v.version}`} columns={v.columns} />}
        {tab === 'profile' && <ProfileTab dataset={`${v.dataset}@${v.version}`} />}
        {tab === 'validation' && <ValidationView validation={v.validation} ruleCount={rules.length} />}
        {tab === 'lineage' && <Lineage version={v} children={children} onSelect={onSelect} />}
      </div>
    </Card>
  )
}

function ProfileTab({ dataset }: { dataset: string }) {
  const profile = useOperation('data.profile', { dataset })
  if (profile.error) return <ErrorBanner error={profile.error} onRetry={profile.reload} />
  if (!profile.data) return <p className="muted">Profiling {dataset} in DuckDB…</p>
  return <ProfileView profile={profile.data} />
}

function Lineage({ version, children, onSelect }: { version: Output<'data.show'>['version']; children: string[]; onSelect: (ref: string) => void }) {
  const options = version.options as { sql?: string } | null
  return (
    <div aria-label="Lineage">
      {version.origin === 'transform' ? (
        <>
          <p>
            Derived by SQL from{' '}
            {version.parents.map((p, i) => (
              <span key={p}>
                {i > 0 && ', '}
                <button className="btn btn-ghost" onClick={() => onSelect(p)}>
                  {p}
                </button>
              </span>
            ))}
          </p>
          {options?.sql && <pre className="mono">{options.sql}</pre>}
        </>
      ) : (
        <p>
          Imported from <span className="mono">{version.source}</span> (sha256 <span className="mono">{version.sourceSha256.slice(0, 12)}…</span>).
        </p>
      )}
      <p>{children.length ? `Used by: ${children.join(', ')}` : 'No version is derived from this one yet.'}</p>
    </div>
  )
}
