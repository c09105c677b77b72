import { describe, expect, it } from 'vitest'
import { usePostgres } from '../../helpers/postgres.js'
import { irisOnnx, penguinsJson, recordRun } from '../../helpers/synced-records.js'
import { count, startTeamInProcess, teammate } from '../../helpers/team-sync.js'
import type { Engine } from '../../../src-main/engine/engine.js'
import { createToken } from '../../../src-main/team/accounts.js'
import { cliActor } from '../../../src-main/team/init.js'
import { openTestEngine } from '../../helpers/workspace.js'

const pg = usePostgres()

const production = async (e: Engine) => (await e.call('registry.models.show', { model: 'iris' })).model.aliases.find((a) => a.alias === 'production')!.version

describe('sync marks and conflict decisions', () => {
  it('marks runs, dataset and model versions pending, then synced; a teammate sees them pulled from ana', async () => {
    const team = await startTeamInProcess(pg.cluster())
    const ana = await teammate(team, 'ana')
    const d = await ana.call('data.import', { name: 'penguins', path: penguinsJson })
    const run = recordRun(ana, { dataset: { name: 'penguins', version: d.version, versionId: d.versionId }, steps: 1500 })
    const v = await ana.call('registry.versions.import', { file: irisOnnx, name: 'iris' })
    const ask = { runs: [run.id], datasetVersions: [d.versionId], modelVersions: [v.versionId], datasets: ['penguins'], models: ['iris'] }

    const before = await ana.call('sync.marks', ask)
    expect(before.connected).toBe(true)
    expect(before.runs[run.id]).toMatchObject({ state: 'pending', detail: '4 operation(s) of this run not pushed yet' })
    expect(before.datasetVersions[d.versionId]!.state).toBe('pending')
    expect(before.modelVersions[v.versionId]!.state).toBe('pending')
    expect(before.datasets.penguins).toMatchObject({ state: 'pending', detail: '1 version(s): 1 pending' })
    expect(before.models.iris!.state).toBe('pending')
    const pending = await ana.call('sync.pending', { limit: 100 })
    expect(pending.total).toBe(pending.operations.length)
    expect(pending.operations.map((o) => o.label)).toEqual(
      expect.arrayContaining(['penguins@1', `run ${run.id}`, `run ${run.id}: loss steps 1000-1999`, 'iris v1']),
    )

    await ana.call('sync.run', {})
    expect(await ana.call('sync.pending', {})).toEqual({ total: 0, operations: [] })
    const after = await ana.call('sync.marks', ask)
    for (const m of [after.runs[run.id], after.datasetVersions[d.versionId], after.modelVersions[v.versionId], after.datasets.penguins, after.models.iris]) {
      expect(m).toMatchObject({ state: 'synced', by: null, at: expect.any(String) })
    }

    const bob = await teammate(team, 'bob')
    await bob.call('sync.run', {})
    const pulled = await bob.call('sync.marks', ask)
    for (const m of [
      pulled.runs[run.id],
      pulled.datasetVersions[d.versionId],
      pulled.modelVersions[v.versionId],
      pulled.datasets.penguins,
      pulled.models.iris,
    ]) {
      expect(m).toMatchObject({ state: 'pulled', by: 'ana', detail: 'pulled from ana' })
    }
    // Bob adds a version of his own: the model is his and ana's, one pending.
    await bob.call('registry.versions.import', { file: irisOnnx, name: 'iris' })
    expect((await bob.call('sync.marks', { models: ['iris'] })).models.iris).toMatchObject({
      state: 'pending',
      detail: '2 version(s): 1 pending, 1 pulled from ana',
    })
    // Unknown ids are local, and a disconnected workspace says so.
    expect((await bob.call('sync.marks', { runs: ['nope'] })).runs.nope!.state).toBe('local')
    await bob.call('sync.disconnect', {})
    expect((await bob.call('sync.marks', {})).connected).toBe(false)
  })

  it('a refused alias move is a conflict until decided: drop keeps the team version, promote re-runs the gate against it and goes out on the next sync', async () => {
    const team = await startTeamInProcess(pg.cluster())
    const ana = await teammate(team, 'ana')
    const bob = await teammate(team, 'bob')
    for (let i = 0; i < 3; i++) await ana.call('registry.versions.import', { file: irisOnnx, name: 'iris' })
    await ana.call('registry.promote', { model: 'iris', version: 1, alias: 'production', force: true, reason: 'set-up' })
    await ana.call('sync.run', {})
    await bob.call('sync.run', {})

    // Both saw production = v1; ana moves to v2 and syncs first, bob to v3.
    const race = async () => {
      await ana.call('registry.promote', { model: 'iris', version: 2, alias: 'production', force: true, reason: 'mine' })
      await bob.call('registry.promote', { model: 'iris', version: 3, alias: 'production', force: true, reason: 'mine' })
      await ana.call('sync.run', {})
      const lost = await bob.call('sync.run', {})
      expect(lost.conflicts).toHaveLength(1)
      return lost.conflicts[0]!
    }
    const conflict = await race()
    expect(conflict).toMatchObject({ model: 'iris', alias: 'production', attempted: 'v3', current: { movedBy: 'ana', version: 2 } })
    expect((await bob.call('sync.marks', { models: ['iris'] })).models.iris!.state).toBe('conflict')
    expect((await bob.call('sync.background', {})).conflicts).toBe(1)
    expect(await production(bob)).toBe(2)

    const dropped = await bob.call('sync.conflicts.decide', { opId: conflict.opId, decision: 'drop' })
    expect(dropped).toMatchObject({ decision: 'dropped', version: 2, message: expect.stringContaining('stays at v2') })
    expect((await bob.call('sync.status', {})).conflicts).toEqual([])
    expect((await bob.call('sync.marks', { models: ['iris'] })).models.iris!.state).not.toBe('conflict')
    expect(await production(bob)).toBe(2)
    expect((await bob.call('sync.run', {})).agreed).toBe(true)
    // Deciding twice is refused, naming the conflict.
    await expect(bob.call('sync.conflicts.decide', { opId: conflict.opId, decision: 'drop' })).rejects.toMatchObject({ code: 'not_found', field: 'opId' })

    // Again, and this time bob promotes again: the move is made against ana's v1 -> now current, and the team takes it.
    await ana.call('sync.run', {})
    await ana.call('registry.promote', { model: 'iris', version: 1, alias: 'production', force: true, reason: 'back' })
    await bob.call('registry.promote', { model: 'iris', version: 3, alias: 'production', force: true, reason: 'mine' })
    await ana.call('sync.run', {})
    const second = (await bob.call('sync.run', {})).conflicts[0]!
    expect(second).toMatchObject({ attempted: 'v3', current: { movedBy: 'ana', version: 1 } })
    const promoted = await bob.call('sync.conflicts.decide', { opId: second.opId, decision: 'promote', force: true, reason: 'v3 is better' })
    expect(promoted).toMatchObject({ decision: 'promoted', version: 3, promotion: { previous: 1, version: 3 } })
    const report = await bob.call('sync.run', {})
    expect(report).toMatchObject({ agreed: true, conflicts: [] })
    await ana.call('sync.run', {})
    expect(await production(ana)).toBe(3)
    expect(await count(team.db, `SELECT count(*) AS n FROM audit_log WHERE action = 'sync.alias.move' AND outcome = 'conflict'`)).toBe(2)
  })

  it('the admin routes through the stored token: an admin lists members, tokens and the audit trail; a maintainer is told it needs admin', async () => {
    const team = await startTeamInProcess(pg.cluster())
    const ana = await teammate(team, 'ana')
    expect(await ana.call('sync.team.whoami', {})).toMatchObject({ user: 'ana', admin: false, project: 'weather', projectRole: 'maintainer' })
    await expect(ana.call('sync.team.members', {})).rejects.toMatchObject({ code: 'forbidden', message: /the team server refused: .*admin/ })
    await expect(ana.call('sync.team.audit', {})).rejects.toMatchObject({ code: 'forbidden' })
    // Her own tokens she may see.
    expect((await ana.call('sync.team.tokens.list', {})).map((t) => t.user)).toEqual(['ana'])

    const { token } = await createToken(team.db, cliActor(), 'admin', null)
    const root = openTestEngine()
    await root.call('sync.connect', { url: team.url(), token, project: 'weather' })
    expect(await root.call('sync.team.whoami', {})).toMatchObject({ user: 'admin', admin: true, projectRole: 'admin' })
    expect((await root.call('sync.team.members', {})).map((u) => u.name).sort()).toEqual(['admin', 'ana', 'bob', 'mo', 'vic'])
    const made = await root.call('sync.team.tokens.create', { user: 'mo', expires: '30d' })
    expect(made.token).toMatch(/^lathe_/)
    expect((await root.call('sync.team.tokens.list', {})).find((t) => t.id === made.id)).toMatchObject({ user: 'mo', state: 'active' })
    expect(await root.call('sync.team.tokens.revoke', { id: made.id })).toMatchObject({ id: made.id, state: 'revoked' })
    await expect(root.call('sync.team.tokens.revoke', { id: 'not-an-id' })).rejects.toMatchObject({ code: 'bad_request', field: 'id' })
    const audit = await root.call('sync.team.audit', { limit: 3 })
    expect(audit.rows.map((r) => r.action)).toEqual(['token.revoke', 'token.create', expect.any(String)])
    expect(audit.rows[0]!.seq).toBeGreaterThan(audit.rows[1]!.seq)
    expect(audit.more).toBe(true)
    const older = await root.call('sync.team.audit', { limit: 2, before: audit.rows.at(-1)!.seq })
    expect(older.rows.map((r) => r.seq)).toEqual([audit.rows.at(-1)!.seq - 1, audit.rows.at(-1)!.seq - 2])
  })
})
