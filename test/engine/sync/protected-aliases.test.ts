import { describe, expect, it } from 'vitest'
import { irisOnnx } from '../../helpers/synced-records.js'
import { usePostgres } from '../../helpers/postgres.js'
import { count, PROJECT, startTeamInProcess, teammate, type TeamFixture } from '../../helpers/team-sync.js'

const pg = usePostgres()

async function call(team: TeamFixture, user: keyof TeamFixture['tokens'], method: 'GET' | 'PUT', body?: unknown) {
  const query = method === 'GET' ? `?project=${PROJECT}` : ''
  const response = await fetch(`${team.url()}/sync/v1/protected-aliases${query}`, {
    method,
    headers: { authorization: `Bearer ${team.tokens[user]}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  })
  return { status: response.status, body: (await response.json()) as any }
}

describe('protected aliases are set per project on the team server', () => {
  it('default production; a maintainer changes the list (audited), a member may not; a move of a newly protected alias is forbidden for a member', async () => {
    const team = await startTeamInProcess(pg.cluster())
    expect(await call(team, 'vic', 'GET')).toEqual({ status: 200, body: { project: PROJECT, aliases: ['production'] } })

    // A member may not change it, nor may a bad list pass: nothing changes either way.
    const refused = await call(team, 'mo', 'PUT', { project: PROJECT, aliases: [] })
    expect(refused.status).toBe(403)
    const bad = await call(team, 'ana', 'PUT', { project: PROJECT, aliases: ['production', 'Not An Alias'] })
    expect(bad.status).toBe(400)
    expect(bad.body.error.message).toMatch(/aliases\.1.*an alias name/)
    expect((await call(team, 'ana', 'PUT', { project: PROJECT, aliases: ['staging', 'staging'] })).body.error.message).toMatch(/each alias once/)
    expect((await call(team, 'ana', 'PUT', { project: 'nope', aliases: [] })).status).toBeGreaterThanOrEqual(403)
    expect(await count(team.db, 'SELECT count(*) AS n FROM sync_protected_aliases')).toBe(0)

    expect(await call(team, 'ana', 'PUT', { project: PROJECT, aliases: ['production', 'staging'] })).toEqual({
      status: 200,
      body: { project: PROJECT, aliases: ['production', 'staging'] },
    })
    expect((await call(team, 'mo', 'GET')).body.aliases).toEqual(['production', 'staging'])
    const audit = await team.db.query(`SELECT user_name, detail FROM audit_log WHERE action = 'sync.protected_aliases.set' AND outcome = 'accepted'`)
    expect(audit.rows).toEqual([{ user_name: 'ana', detail: JSON.stringify({ before: ['production'], after: ['production', 'staging'] }) }])

    // Mo (a member) moves staging offline: refused now that it is protected.
    const mo = await teammate(team, 'mo')
    const v = await mo.call('registry.versions.import', { file: irisOnnx, name: 'iris' })
    await mo.call('registry.promote', { model: 'iris', version: v.version, alias: 'staging' })
    const report = await mo.call('sync.run', {})
    expect(report.pushed).toMatchObject({ forbidden: 1 })
    expect(report.agreed).toBe(false)
    const refusal = await team.db.query(`SELECT detail FROM audit_log WHERE action = 'sync.alias.move' AND outcome = 'refused'`)
    expect(JSON.parse(refusal.rows[0].detail).reason).toMatch(/moving the protected alias "staging" needs maintainer/)
    expect(await count(team.db, `SELECT count(*) AS n FROM sync_aliases WHERE alias = 'staging' AND version_id IS NOT NULL`)).toBe(0)

    // Unprotected again (by another maintainer), a member's move of staging applies.
    expect((await call(team, 'bob', 'PUT', { project: PROJECT, aliases: ['production'] })).status).toBe(200)
    const w = await mo.call('registry.versions.import', { file: irisOnnx, name: 'iris-small' })
    await mo.call('registry.promote', { model: 'iris-small', version: w.version, alias: 'staging' })
    const again = await mo.call('sync.run', {})
    expect(again.pushed.forbidden ?? 0).toBe(0)
    expect(await count(team.db, `SELECT count(*) AS n FROM sync_aliases WHERE model = 'iris-small' AND alias = 'staging' AND version_id IS NOT NULL`)).toBe(1)
  })
})
