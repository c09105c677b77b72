import fs from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { hashFile } from '../../../src-main/engine/workspace/index.js'
import { irisOnnx, penguinsJson } from '../../helpers/synced-records.js'
import { usePostgres } from '../../helpers/postgres.js'
import { startTeamInProcess, teammate } from '../../helpers/team-sync.js'
import { tempDir } from '../../helpers/workspace.js'
import { trainWeatherModel } from '../monitoring/engineHelpers.js'

const pg = usePostgres()

describe('a pulled record brings its blob on first use', () => {
  it('a dataset version fetches its Parquet when read, a model version its ONNX when exported or served; a cut download resumes', async () => {
    const team = await startTeamInProcess(pg.cluster())
    const ana = await teammate(team, 'ana')
    const d = await ana.call('data.import', { name: 'penguins', path: penguinsJson })
    const v = await ana.call('registry.versions.import', { file: irisOnnx, name: 'iris' })
    await ana.call('registry.promote', { model: 'iris', version: v.version, alias: 'production' })
    await ana.call('sync.run', {})
    const one = (sql: string, id: string) => ana.context.workspace.db.prepare(sql).pluck().get(id) as string
    const onnxSha = one('SELECT onnx_sha256 FROM registry_versions WHERE id = ?', v.versionId)
    const parquetSha = one('SELECT object_sha256 FROM dataset_versions WHERE id = ?', d.versionId)

    const bobDir = tempDir()
    const bob = await teammate(team, 'bob', bobDir)
    expect((await bob.call('sync.run', {})).agreed).toBe(true)
    const objects = bob.context.workspace.objects
    // The pull brought the records only.
    expect(objects.has(parquetSha)).toBe(false)
    expect(objects.has(onnxSha)).toBe(false)
    expect((await bob.call('registry.models.show', { model: 'iris' })).versions).toHaveLength(1)

    // Read: the Parquet comes now, and the rows are Ana's.
    const preview = async (engine: typeof ana) => (await engine.call('data.preview', { dataset: 'penguins@1', limit: 5 })).rows
    expect(await preview(bob)).toEqual(await preview(ana))
    expect(objects.has(parquetSha)).toBe(true)
    expect(objects.has(onnxSha)).toBe(false)

    // A download cut halfway left its first bytes in sync-partial/: the export resumes it with Range.
    const whole = fs.readFileSync(irisOnnx)
    const partial = path.join(bobDir, 'sync-partial', onnxSha)
    fs.mkdirSync(path.dirname(partial), { recursive: true })
    fs.writeFileSync(partial, whole.subarray(0, Math.floor(whole.length / 2)))
    const zip = path.join(tempDir(), 'iris.zip')
    const exported = await bob.call('registry.export', { model: 'iris', version: 'production', file: zip })
    expect(exported.bytes).toBeGreaterThan(whole.length / 2)
    expect(objects.has(onnxSha)).toBe(true)
    expect(await hashFile(objects.pathOf(onnxSha))).toBe(onnxSha)
    expect(fs.existsSync(partial)).toBe(false)

    // Served: a third teammate's first load of the alias fetches the ONNX and predicts.
    const carol = await teammate(team, 'ana')
    await carol.call('sync.run', {})
    expect(carol.context.workspace.objects.has(onnxSha)).toBe(false)
    await carol.call('serving.start', { port: 0, models: [{ model: 'iris' }] })
    expect(carol.context.workspace.objects.has(onnxSha)).toBe(true)
    await carol.call('serving.stop', {})

    // Not connected any more: the read says what is missing and what to do, and nothing changes.
    const dan = await teammate(team, 'vic')
    await dan.call('sync.run', {})
    await dan.call('sync.disconnect', {})
    await expect(dan.call('data.preview', { dataset: 'penguins@1', limit: 5 })).rejects.toThrow(/not connected now \(lathe team connect/)
    expect(dan.context.workspace.objects.has(parquetSha)).toBe(false)
  })

  it('a drift report and a transform on a pulled dataset version fetch its Parquet first', async () => {
    const team = await startTeamInProcess(pg.cluster())
    const ana = await teammate(team, 'ana')
    await trainWeatherModel(ana)
    await ana.call('sync.run', {})
    const parquetSha = ana.context.workspace.db.prepare(`SELECT object_sha256 FROM dataset_versions`).pluck().get() as string

    const bob = await teammate(team, 'bob')
    expect((await bob.call('sync.run', {})).agreed).toBe(true)
    expect(bob.context.workspace.objects.has(parquetSha)).toBe(false)
    // The model's reference is its run's training split of weather@1: the report reads it.
    const drift = await bob.call('monitoring.drift', { model: 'weather', current: 'weather@1', save: false })
    expect(drift.features.map((f) => f.name).sort()).toEqual(['precipitation', 'temp_max', 'temp_min', 'wind'])
    expect(bob.context.workspace.objects.has(parquetSha)).toBe(true)
    const mine = await ana.call('monitoring.drift', { model: 'weather', current: 'weather@1', save: false })
    expect(drift.features.map((f) => f.statistic)).toEqual(mine.features.map((f) => f.statistic))

    const carol = await teammate(team, 'vic')
    await carol.call('sync.run', {})
    expect(carol.context.workspace.objects.has(parquetSha)).toBe(false)
    const preview = await carol.call('data.transform.preview', { sql: 'SELECT weather, count(*) AS days FROM weather@1 GROUP BY weather ORDER BY weather' })
    expect(preview.rows.length).toBe(5)
    expect(carol.context.workspace.objects.has(parquetSha)).toBe(true)
  })
})
