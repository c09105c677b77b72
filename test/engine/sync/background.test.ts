import { describe, expect, it } from 'vitest'
import { backgroundSync, MAX_BACKOFF_S, STARTUP_DELAY_S, type BackgroundState } from '../../../src-main/engine/sync/background.js'
import { createTeamServer } from '../../../src-main/team/server.js'
import { usePostgres } from '../../helpers/postgres.js'
import { irisOnnx } from '../../helpers/synced-records.js'
import { count, startTeamInProcess, teamDatabase, teammate, type TeamFixture } from '../../helpers/team-sync.js'
import { afterThisTest } from '../../helpers/workspace.js'

const pg = usePostgres()
// Far ahead of the wall clock: the service's real timer (armed relative to this clock) only ever finds nothing due.
const T0 = Date.now() + 1e10
const S = 1000

describe('background sync', () => {
  it('syncs on its interval (the first a few seconds after start), not before; the interval is a workspace setting', async () => {
    const team = await startTeamInProcess(pg.cluster())
    const ana = await teammate(team, 'ana')
    const bg = backgroundSync(ana.context)
    bg.start(T0)
    expect(bg.configure({ intervalS: 60 }, T0)).toMatchObject({ state: 'idle', intervalS: 60, enabled: true, nextAt: new Date(T0 + 60 * S).toISOString() })
    await ana.call('registry.versions.import', { file: irisOnnx, name: 'iris' })
    expect(bg.state().pending).toBeGreaterThan(0)

    expect(await bg.tick(T0 + 59 * S)).toBe('not-due')
    expect(await count(team.db, `SELECT count(*) AS n FROM sync_records WHERE kind = 'model_version'`)).toBe(0)
    expect(await bg.tick(T0 + 60 * S)).toBe('ran')
    expect(bg.state()).toMatchObject({ state: 'idle', pending: 0, failures: 0, problem: null, nextAt: new Date(T0 + 120 * S).toISOString() })
    expect(await count(team.db, `SELECT count(*) AS n FROM sync_records WHERE kind = 'model_version'`)).toBe(1)

    await ana.call('registry.versions.import', { file: irisOnnx, name: 'iris' })
    expect(await bg.tick(T0 + 119 * S)).toBe('not-due')
    expect(await bg.tick(T0 + 120 * S)).toBe('ran')
    expect(await count(team.db, `SELECT count(*) AS n FROM sync_records WHERE kind = 'model_version'`)).toBe(2)

    // The setting lives in the workspace; a bad value is refused with the range, and changes nothing.
    await expect(ana.call('sync.background.configure', { intervalS: 3 })).rejects.toMatchObject({ code: 'bad_request', field: 'intervalS' })
    expect((await ana.call('sync.background', {})).intervalS).toBe(60)
    await ana.call('sync.background.configure', { enabled: false })
    expect(await bg.tick(T0 + 1e6 * S)).toBe('paused')
    expect((await ana.call('sync.background', {})).state).toBe('paused')
  })

  it('never runs two syncs at once: a tick during a sync skips, manual syncs queue behind it', async () => {
    const team = await startTeamInProcess(pg.cluster())
    const ana = await teammate(team, 'ana')
    const bg = backgroundSync(ana.context)
    bg.start(T0)
    for (let i = 0; i < 3; i++) await ana.call('registry.versions.import', { file: irisOnnx, name: 'iris' })
    const states: BackgroundState['state'][] = []
    ana.events.subscribe(['sync.state'], (e) => states.push(e.payload.state))

    const manual = [ana.call('sync.run', {}), bg.run(), ana.call('sync.run', {})]
    expect(bg.running).toBe(true)
    expect(await bg.tick(T0 + STARTUP_DELAY_S * S)).toBe('busy')
    const reports = await Promise.all(manual)
    expect(reports.map((r) => r.agreed)).toEqual([true, true, true])
    // The first pushed everything; the two that waited found nothing left to send.
    expect(reports[0]!.pushed.applied).toBeGreaterThan(3)
    expect(reports.slice(1).map((r) => r.pushed)).toEqual([{}, {}])
    // Each sync starts after the previous one ended: syncing and idle alternate.
    const transitions = states.filter((s, i) => i === 0 || s !== states[i - 1])
    expect(transitions).toEqual(['syncing', 'idle', 'syncing', 'idle', 'syncing', 'idle'])
  })

  it('backs off while the team server cannot be reached (2x, 4x ... up to 15 minutes), says so, and recovers with one good sync', async () => {
    const base = await teamDatabase(pg.cluster())
    const first = await createTeamServer({ db: base.db, objectsDir: base.objectsDir, logLevel: 'silent' })
    const url = await first.listen('127.0.0.1', 0)
    const fixture: TeamFixture = { ...base, url: () => url }
    const ana = await teammate(fixture, 'ana')
    await ana.call('registry.versions.import', { file: irisOnnx, name: 'iris' })
    await first.close()

    const bg = backgroundSync(ana.context)
    bg.start(T0)
    await bg.configure({ intervalS: 60 }, T0)
    let now = T0 + 60 * S
    const waits: number[] = []
    for (let i = 0; i < 5; i++) {
      expect(await bg.tick(now)).toBe('failed')
      const state = bg.state()
      expect(state).toMatchObject({
        state: 'offline',
        failures: i + 1,
        problem: expect.stringMatching(/cannot reach the team server at http:\/\/127\.0\.0\.1:\d+/),
      })
      const next = Date.parse(state.nextAt!)
      waits.push((next - now) / S)
      expect(await bg.tick(next - 1)).toBe('not-due')
      now = next
    }
    expect(waits).toEqual([120, 240, 480, MAX_BACKOFF_S, MAX_BACKOFF_S])
    // The manual sync says the same, in a sentence.
    await expect(ana.call('sync.run', {})).rejects.toMatchObject({ code: 'unavailable' })

    // The server is back on the same port: the next due tick syncs, and the wait is one interval again.
    const again = await createTeamServer({ db: base.db, objectsDir: base.objectsDir, logLevel: 'silent' })
    await again.listen('127.0.0.1', Number(new URL(url).port))
    afterThisTest(() => again.close())
    now = Date.parse(bg.state().nextAt!)
    expect(await bg.tick(now)).toBe('ran')
    expect(bg.state()).toMatchObject({ state: 'idle', failures: 0, problem: null, pending: 0, nextAt: new Date(now + 60 * S).toISOString() })
    expect(await count(base.db, `SELECT count(*) AS n FROM sync_records WHERE kind = 'model_version'`)).toBe(1)
  })

  it('runs only in engines that stay up, and waits while the workspace is not connected', async () => {
    const team = await startTeamInProcess(pg.cluster())
    const ana = await teammate(team, 'ana')
    expect(ana.services).not.toContain('sync.background')
    await ana.call('sync.disconnect', {})
    const bg = backgroundSync(ana.context)
    bg.start(T0)
    expect(await bg.tick(T0 + 1e6 * S)).toBe('disconnected')
    expect(bg.state()).toMatchObject({ state: 'disconnected', nextAt: null })
  })
})
