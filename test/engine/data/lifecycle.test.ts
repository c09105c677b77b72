import fs from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { LatheError } from '../../../src-main/engine/api/common/errors.js'
import { startEngineHost } from '../../../src-main/engine/host.js'
import { listAudit } from '../../../src-main/engine/workspace/index.js'
import { trainWeatherModel, weatherCsv } from '../monitoring/engineHelpers.js'
import { afterThisTest, openTestEngine, tempDir } from '../../helpers/workspace.js'

const vega = path.resolve('node_modules/vega-datasets/data')

async function refusal(promise: Promise<unknown>): Promise<LatheError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(LatheError)
  return error as LatheError
}

describe('deleting and archiving datasets', () => {
  it('deletes a version nothing depends on: its row, splits and object go, in one change', async () => {
    const engine = openTestEngine()
    const first = await engine.call('data.import', { name: 'weather', path: weatherCsv })
    const second = await engine.call('data.import', { name: 'weather', path: weatherCsv, types: { wind: 'VARCHAR' } })
    expect(second.version).toBe(2)
    await engine.call('data.splits.create', { dataset: 'weather@2', spec: { seed: 1 } })
    const object = engine.workspace.objects.pathOf((await engine.call('data.show', { dataset: 'weather@2' })).version.objectSha256)
    expect(fs.existsSync(object)).toBe(true)

    const view = await engine.call('data.dependents', { dataset: 'weather@2' })
    expect(view).toMatchObject({ dataset: 'weather', version: 2, dependents: [], deletable: true })
    const deleted = await engine.call('data.delete', { dataset: 'weather@2' })
    expect(deleted).toEqual({ dataset: 'weather', deleted: [2], datasetDeleted: false, objectsRemoved: 1 })
    expect(fs.existsSync(object)).toBe(false)

    expect((await refusal(engine.call('data.show', { dataset: 'weather@2' }))).code).toBe('not_found')
    const shown = await engine.call('data.show', { dataset: 'weather' })
    expect(shown.versions.map((v) => v.version)).toEqual([first.version])
    // Not pushed to a team server later: its record is gone.
    expect(engine.workspace.db.prepare('SELECT count(*) FROM sync_outbox WHERE entity_id = ?').pluck().get(second.versionId)).toBe(0)
    const audit = listAudit(engine.workspace.db, { entityId: second.versionId })
    expect(audit.map((a) => a.action)).toContain('dataset.delete')
    // An archived latest version is skipped by "name", still read by "name@V".
    await engine.call('data.import', { name: 'weather', path: weatherCsv, types: { temp_max: 'VARCHAR' } })
    await engine.call('data.archive', { dataset: 'weather@2' })
    expect((await engine.call('data.show', { dataset: 'weather' })).version.version).toBe(1)
    expect((await engine.call('data.show', { dataset: 'weather@2' })).version.archivedAt).not.toBeNull()
    await engine.call('data.delete', { dataset: 'weather@2' })
    // The same bytes with the same options import again as a new version, not "already imported".
    const again = await engine.call('data.import', { name: 'weather', path: weatherCsv, types: { wind: 'VARCHAR' } })
    expect(again).toMatchObject({ created: true, version: 2 })
  })

  it('deletes a whole dataset, but not one whose version another dataset was derived from', async () => {
    const engine = openTestEngine()
    await engine.call('data.import', { name: 'penguins', path: path.join(vega, 'penguins.json') })
    await engine.call('data.transform', { name: 'species', sql: 'SELECT Species, count(*) AS n FROM penguins@1 GROUP BY ALL' })
    const blocked = await engine.call('data.dependents', { dataset: 'penguins' })
    expect(blocked.deletable).toBe(false)
    expect(blocked.dependents).toEqual([expect.objectContaining({ version: 'penguins@1', kind: 'dataset version', label: 'species@1 (derived by SQL)' })])
    const refused = await refusal(engine.call('data.delete', { dataset: 'penguins' }))
    expect(refused.code).toBe('conflict')
    expect(refused.message).toContain('species@1 (derived by SQL) uses penguins@1')
    expect(refused.message).toContain('Archive it instead')

    // The derived dataset goes first; then nothing holds the parent.
    expect(await engine.call('data.delete', { dataset: 'species' })).toMatchObject({ datasetDeleted: true, deleted: [1] })
    expect(await engine.call('data.delete', { dataset: 'penguins' })).toMatchObject({ datasetDeleted: true })
    expect((await engine.call('data.list', { includeArchived: true })).datasets).toEqual([])
  })

  it('archives a version a model was trained on: hidden from lists, still readable, lineage whole', { timeout: 240_000 }, async () => {
    const engine = openTestEngine()
    const { runId } = await trainWeatherModel(engine)
    await engine.call('monitoring.monitors.add', { name: 'ref', model: 'weather', spec: { reference: 'weather@1' } })
    const view = await engine.call('data.dependents', { dataset: 'weather@1' })
    expect(view.deletable).toBe(false)
    expect(view.dependents.map((d) => d.kind).sort()).toEqual(['model version', 'monitor', 'run'])
    expect(view.dependents.find((d) => d.kind === 'run')!.id).toBe(runId)
    expect(view.dependents.find((d) => d.kind === 'model version')!.label).toBe('model weather v1')

    const objects = [...fs.readdirSync(path.join(engine.workspace.dir, 'objects', 'sha256'))]
    const refused = await refusal(engine.call('data.delete', { dataset: 'weather@1' }))
    expect(refused).toMatchObject({ code: 'conflict', field: 'dataset' })
    expect(refused.message).toMatch(/cannot delete weather@1: .*model weather v1 uses weather@1/)
    // Refused means unchanged.
    expect([...fs.readdirSync(path.join(engine.workspace.dir, 'objects', 'sha256'))]).toEqual(objects)
    expect((await engine.call('data.show', { dataset: 'weather@1' })).version.archivedAt).toBeNull()

    const archived = await engine.call('data.archive', { dataset: 'weather' })
    expect(archived).toMatchObject({ archived: true, wholeDataset: true, versions: [1] })
    expect((await engine.call('data.list', {})).datasets).toEqual([])
    const all = (await engine.call('data.list', { includeArchived: true })).datasets
    expect(all).toEqual([expect.objectContaining({ name: 'weather', versions: 0, archivedVersions: 1 })])
    expect(all[0]!.archivedAt).not.toBeNull()
    const shown = await engine.call('data.show', { dataset: 'weather@1' })
    expect(shown.version.archivedAt).not.toBeNull()
    expect(shown.versions).toEqual([expect.objectContaining({ version: 1, archived: true })])
    expect((await engine.call('data.preview', { dataset: 'weather@1', limit: 2 })).rows).toHaveLength(2)
    const lineage = await engine.call('registry.lineage', { model: 'weather', version: '1' })
    expect(JSON.stringify(lineage)).toContain('weather')

    await engine.call('data.archive', { dataset: 'weather', restore: true })
    expect((await engine.call('data.list', {})).datasets.map((d) => [d.name, d.versions])).toEqual([['weather', 1]])
  })

  it('says which reference it does not know', async () => {
    const engine = openTestEngine()
    expect((await refusal(engine.call('data.delete', { dataset: 'nothing' }))).message).toBe('no dataset named "nothing" in this workspace')
    await engine.call('data.import', { name: 'weather', path: weatherCsv })
    expect((await refusal(engine.call('data.archive', { dataset: 'weather@7' }))).message).toContain('has no version 7')
  })
})

describe('transform preview', () => {
  it('shows the schema and first rows and saves nothing', async () => {
    const engine = openTestEngine()
    await engine.call('data.import', { name: 'weather', path: weatherCsv })
    const preview = await engine.call('data.transform.preview', {
      sql: "SELECT weather, round(avg(temp_max), 2) AS mean_max FROM weather@1 WHERE weather <> 'fog' GROUP BY ALL ORDER BY weather",
      limit: 3,
    })
    expect(preview.parents).toEqual(['weather@1'])
    expect(preview.columns).toEqual([
      { name: 'weather', type: 'VARCHAR' },
      { name: 'mean_max', type: 'DOUBLE' },
    ])
    expect(preview.rows.map((r) => r.weather)).toEqual(['drizzle', 'rain', 'snow'])
    expect((await engine.call('data.list', {})).datasets.map((d) => d.name)).toEqual(['weather'])
  })

  it("names the line and column of DuckDB's error in the SQL as written, with no object path", async () => {
    const engine = openTestEngine()
    await engine.call('data.import', { name: 'weather', path: weatherCsv })
    const unknown = await refusal(engine.call('data.transform.preview', { sql: 'SELECT *\nFROM weather@1\nWHERE nope > 1' }))
    expect(unknown).toMatchObject({ code: 'bad_request', field: 'sql', line: 3 })
    expect(unknown.message).toMatch(/^the transform SQL is not valid at line 3, column 7: Binder Error: Referenced column "nope" not found/)
    expect(unknown.details).toMatchObject({ line: 3, column: 7 })
    const syntax = await refusal(engine.call('data.transform.preview', { sql: 'SELECT * FORM weather@1' }))
    expect(syntax.message).toMatch(/^the transform SQL does not parse at line 1, column 15: Parser Error: syntax error at or near "weather@1"/)
    // A column of the wrong type in an expression after the reference: the position maps back past it.
    const typed = await refusal(engine.call('data.transform.preview', { sql: "SELECT * FROM weather@1 WHERE date + 'x' > 1" }))
    expect(typed.message).not.toContain(engine.workspace.dir)
    expect(typed.message).not.toContain('objects')
    const saved = await refusal(engine.call('data.transform', { name: 'broken', sql: 'SELECT nope FROM weather@1' }))
    expect(saved.message).toMatch(/line 1, column 8/)
  })
})

describe('export for a browser', () => {
  it('writes the version to a download that GET /api/v1/downloads sends once', async () => {
    const host = await startEngineHost({ workspaceDir: tempDir(), holder: 'export test', port: 0 })
    afterThisTest(() => host.stop())
    const { engine } = host
    await engine.call('data.import', { name: 'weather', path: weatherCsv })
    const exported = await engine.call('data.export', { dataset: 'weather@1', download: true, format: 'csv' })
    expect(exported).toMatchObject({ dataset: 'weather', version: 1, format: 'csv', fileName: 'weather-v1.csv', rows: 1461 })
    expect(exported.path).toBeUndefined()
    const url = `${host.api.url}/api/v1/downloads/${exported.download}?name=${exported.fileName}`
    const headers = { authorization: `Bearer ${host.api.token}` }
    const response = await fetch(url, { headers })
    expect(response.status).toBe(200)
    expect(response.headers.get('content-disposition')).toBe('attachment; filename="weather-v1.csv"')
    const lines = (await response.text()).trim().split('\n')
    expect(lines).toHaveLength(1462)
    expect(lines[0]).toBe(fs.readFileSync(weatherCsv, 'utf8').split('\n')[0])
    const gone = await fetch(url, { headers })
    expect(gone.status).toBe(404)
    expect(((await gone.json()) as { error: { message: string } }).error.message).toContain('export again')
    expect((await fetch(`${host.api.url}/api/v1/downloads/..%2Flathe.db`, { headers })).status).toBe(400)
    expect((await refusal(engine.call('data.export', { dataset: 'weather' }))).field).toBe('path')
  })
})
