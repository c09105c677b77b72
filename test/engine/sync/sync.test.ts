import { describe, expect, it } from 'vitest'
import { irisOnnx, penguinsJson, recordRun } from '../../helpers/synced-records.js'
import { usePostgres } from '../../helpers/postgres.js'
import { connectionFileMode, count, PROJECT, startTeamInProcess, teammate } from '../../helpers/team-sync.js'
import { openTestEngine, tempDir } from '../../helpers/workspace.js'
import { verifyAudit } from '../../../src-main/team/audit.js'

const pg = usePostgres()

describe('sync between workspaces and a team server', () => {
  it('pushes datasets, runs with metric segments, model versions and alias moves, pulls them into a second workspace, and both digests agree', async () => {
    const team = await startTeamInProcess(pg.cluster())
    const dir = tempDir()
    const ana = await teammate(team, 'ana', dir)
    expect(connectionFileMode(dir)).toBe(0o600)

    const d = await ana.call('data.import', { name: 'penguins', path: penguinsJson })
    const run = recordRun(ana, { dataset: { name: 'penguins', version: d.version, versionId: d.versionId }, metrics: ['loss', 'val_accuracy'], steps: 2100 })
    const v1 = await ana.call('registry.versions.import', { file: irisOnnx, name: 'iris' })
    await ana.call('registry.promote', { model: 'iris', version: v1.version, alias: 'production' })

    const first = await ana.call('sync.run', {})
    expect(first.left).toEqual([])
    expect(first.agreed).toBe(true)
    expect(first.pushed.applied).toBeGreaterThan(8)
    // Sent again, nothing is applied twice: a replay is free.
    const again = await ana.call('sync.run', {})
    expect(again).toMatchObject({ agreed: true, pushed: {} })
    expect(await count(team.db, `SELECT count(*) AS n FROM sync_segments WHERE run_id = $1`, [run.id])).toBe(6)

    const bob = await teammate(team, 'bob')
    const pulled = await bob.call('sync.run', {})
    expect(pulled.agreed).toBe(true)
    expect(pulled.pulled).toBeGreaterThan(8)
    const bobRun = await bob.call('training.runs.show', { run: run.id })
    expect(bobRun.series.loss).toHaveLength(2100)
    expect(bobRun.series.val_accuracy![2099]).toEqual({ step: 2099, value: 1 / 2100 + 1 })
    const iris = await bob.call('registry.models.show', { model: 'iris' })
    expect(iris.versions.map((v) => [v.version, v.versionId])).toEqual([[1, v1.versionId]])
    expect(iris.model.aliases).toEqual([expect.objectContaining({ alias: 'production', version: 1, versionId: v1.versionId })])
    const status = await bob.call('sync.status', { verify: true })
    expect(status).toMatchObject({ connected: true, project: PROJECT, pending: 0, verified: { agreed: true, differences: [] } })
    // The dataset version's Parquet came with it: Bob reads the same rows.
    const rows = async (engine: typeof ana) => (await engine.call('data.preview', { dataset: 'penguins@1', limit: 3 })).rows
    expect(await rows(bob)).toEqual(await rows(ana))
  })

  it('a replay of an applied outbox whose answers were lost is answered by op id: all duplicate, one audit row each, the chain intact', async () => {
    const team = await startTeamInProcess(pg.cluster())
    const ana = await teammate(team, 'ana')
    const d = await ana.call('data.import', { name: 'penguins', path: penguinsJson })
    const run = recordRun(ana, { dataset: { name: 'penguins', version: d.version, versionId: d.versionId }, metrics: ['loss'], steps: 2100 })
    const first = await ana.call('sync.run', {})
    const ops = first.pushed.applied!
    expect(ops).toBeGreaterThan(4)
    // Every answer lost: the whole outbox is pending again.
    ana.context.workspace.db.prepare(`UPDATE sync_outbox SET state = 'pending'`).run()
    const replay = await ana.call('sync.run', {})
    expect(replay).toMatchObject({ agreed: true, pushed: { duplicate: ops } })
    expect(await count(team.db, `SELECT count(*) AS n FROM sync_segments WHERE run_id = $1`, [run.id])).toBe(3)
    expect(await count(team.db, `SELECT count(*) AS n FROM audit_log WHERE action LIKE 'sync.%' AND outcome = 'duplicate'`)).toBe(ops)
    expect(await verifyAudit(team.db)).toMatchObject({ ok: true, problems: [] })
  })

  it('one model name created offline on two clients ends as one server model with two versions, numbered by arrival on both', async () => {
    const team = await startTeamInProcess(pg.cluster())
    const ana = await teammate(team, 'ana')
    const bob = await teammate(team, 'bob')
    const a = await ana.call('registry.versions.import', { file: irisOnnx, name: 'iris', description: 'ana' })
    const b = await bob.call('registry.versions.import', { file: irisOnnx, name: 'iris', description: 'bob' })
    expect([a.version, b.version]).toEqual([1, 1])
    await ana.call('sync.run', {})
    await bob.call('sync.run', {})
    await ana.call('sync.run', {})
    expect(await count(team.db, `SELECT count(*) AS n FROM sync_names WHERE kind = 'model' AND name = 'iris'`)).toBe(1)
    for (const engine of [ana, bob]) {
      const shown = await engine.call('registry.models.show', { model: 'iris' })
      expect(shown.versions.map((v) => [v.version, v.versionId])).toEqual([
        [1, a.versionId],
        [2, b.versionId],
      ])
    }
    // Display numbers are the team's: on Bob's machine iris@1 is now Ana's (she arrived first), his is iris@2.
    expect((await bob.call('registry.versions.show', { model: 'iris', version: '1' })).version.versionId).toBe(a.versionId)
    expect((await bob.call('registry.versions.show', { model: 'iris', version: '2' })).version.versionId).toBe(b.versionId)
  })

  it("a viewer's push is 403 and changes nothing; the outbox stays", async () => {
    const team = await startTeamInProcess(pg.cluster())
    const vic = await teammate(team, 'vic')
    await vic.call('registry.versions.import', { file: irisOnnx, name: 'iris' })
    const before = await vic.call('sync.status', {})
    await expect(vic.call('sync.run', {})).rejects.toMatchObject({ code: 'forbidden', message: /vic is a viewer.*sync.push needs member/ })
    expect((await vic.call('sync.status', {})).pending).toBe(before.pending)
    expect(await count(team.db, `SELECT count(*) AS n FROM sync_records`)).toBe(0)
    // Pulling is what a viewer may do.
    expect((await vic.call('sync.run', { push: false })).pulled).toBe(0)
  })

  it('a member may not move the protected production alias: forbidden, recorded, and sync says what is left', async () => {
    const team = await startTeamInProcess(pg.cluster())
    const mo = await teammate(team, 'mo')
    const v = await mo.call('registry.versions.import', { file: irisOnnx, name: 'iris' })
    await mo.call('registry.promote', { model: 'iris', version: v.version, alias: 'production' })
    const report = await mo.call('sync.run', {})
    expect(report.pushed.forbidden).toBe(1)
    expect(report.agreed).toBe(false)
    expect(report.left.join('\n')).toMatch(/refused: your role does not allow them/)
    expect(await count(team.db, `SELECT count(*) AS n FROM sync_aliases WHERE version_id IS NOT NULL`)).toBe(0)
    expect(await count(team.db, `SELECT count(*) AS n FROM audit_log WHERE action = 'sync.alias.move' AND outcome = 'refused'`)).toBe(1)
  })

  it('refuses to connect with a bad URL or a token the server never issued, and stores nothing', async () => {
    const team = await startTeamInProcess(pg.cluster())
    const dir = tempDir()
    const engine = openTestEngine(dir)
    await expect(engine.call('sync.connect', { url: 'not a url', token: 't', project: PROJECT })).rejects.toMatchObject({ code: 'bad_request', field: 'url' })
    await expect(engine.call('sync.connect', { url: team.url(), token: 'lathe_nope', project: PROJECT })).rejects.toMatchObject({ code: 'unauthorized' })
    await expect(engine.call('sync.run', {})).rejects.toMatchObject({ code: 'bad_request', message: /not connected/ })
    expect((await engine.call('sync.status', {})).connected).toBe(false)
  })
})
