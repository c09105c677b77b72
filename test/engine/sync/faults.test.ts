import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import type { Engine } from '../../../src-main/engine/engine.js'
import { TeamClient, CHUNK_BYTES } from '../../../src-main/engine/sync/client.js'
import { createToken, revokeToken } from '../../../src-main/team/accounts.js'
import { BlobStore } from '../../../src-main/team/blobs.js'
import { cliActor } from '../../../src-main/team/init.js'
import { hashFile } from '../../../src-main/engine/workspace/objects.js'
import { startFaultProxy } from '../../helpers/fault-proxy.js'
import { irisOnnx } from '../../helpers/synced-records.js'
import { usePostgres } from '../../helpers/postgres.js'
import {
  count as n,
  dayOfWork,
  expectNoDuplicates,
  PROJECT,
  spawnTeamServer,
  startTeamInProcess,
  syncUntilAgreed,
  teamDatabase,
  teammate,
  type TeamFixture,
} from '../../helpers/team-sync.js'

const pg = usePostgres()

describe('sync under faults (real PostgreSQL, real team server)', () => {
  it('a proxy that delivers every push twice and drops every other answer after the commit: zero duplicates', async () => {
    const team = await startTeamInProcess(pg.cluster())
    let pushes = 0
    const proxy = await startFaultProxy(team.url(), {
      duplicate: (line) => line.startsWith('POST /sync/v1/push'),
      dropResponse: (line) => line.startsWith('POST /sync/v1/push') && ++pushes % 2 === 1,
    })
    const ana = await teammate({ ...team, url: () => proxy.url }, 'ana')
    await dayOfWork(ana, 6)
    const { attempts } = await syncUntilAgreed(ana)
    expect(attempts).toBeGreaterThan(1)
    expect(proxy.stats.duplicated).toBeGreaterThan(0)
    expect(proxy.stats.dropped).toBeGreaterThan(0)
    await expectNoDuplicates(team, ana)
    expect(await n(team.db, `SELECT count(*) AS n FROM audit_log WHERE action LIKE 'sync.%' AND outcome = 'duplicate'`)).toBeGreaterThan(0)
  })

  it('two clients that both saw production = v1 move it offline and sync at once, 50 times: one winner each time, the loser told who, the same history after a pull, every attempt audited', async () => {
    const team = await startTeamInProcess(pg.cluster())
    const ana = await teammate(team, 'ana')
    const bob = await teammate(team, 'bob')
    for (let i = 0; i < 3; i++) await ana.call('registry.versions.import', { file: irisOnnx, name: 'iris', description: `v${i + 1}` })
    await ana.call('registry.promote', { model: 'iris', version: 1, alias: 'production', force: true, reason: 'test set-up' })
    await ana.call('sync.run', {})
    await bob.call('sync.run', {})
    const rounds = Number(process.env.LATHE_TEST_RACE_ROUNDS ?? 50)
    const losers: string[] = []
    for (let round = 0; round < rounds; round++) {
      const current = (await ana.call('registry.models.show', { model: 'iris' })).model.aliases.find((a) => a.alias === 'production')!.version
      const [a, b] = [1, 2, 3].filter((v) => v !== current)
      await ana.call('registry.promote', { model: 'iris', version: a!, alias: 'production', force: true, reason: 'the race' })
      await bob.call('registry.promote', { model: 'iris', version: b!, alias: 'production', force: true, reason: 'the race' })
      const [ra, rb] = await Promise.all([ana.call('sync.run', {}), bob.call('sync.run', {})])
      const lost = [ra, rb].map((r) => r.conflicts.length)
      expect(lost.sort()).toEqual([0, 1])
      const loser = ra.conflicts.length ? ra : rb
      const winnerName = ra.conflicts.length ? 'bob' : 'ana'
      expect(loser.conflicts[0]).toMatchObject({ model: 'iris', alias: 'production', current: { movedBy: winnerName, version: winnerName === 'ana' ? a : b } })
      expect(loser.left.join('\n')).toMatch(new RegExp(`not applied: someone moved it first \\(now v\\d by ${winnerName}`))
      losers.push(winnerName === 'ana' ? 'bob' : 'ana')
      // Both pull what the other did; the loser decides again next round.
      await ana.call('sync.run', {})
      await bob.call('sync.run', {})
      const history = (engine: Engine) =>
        engine.context.workspace.db
          .prepare(
            `SELECT h.uid, v.version FROM registry_alias_history h JOIN registry_versions v ON v.id = h.version_id
             WHERE h.uid NOT IN (SELECT entity_id FROM sync_outbox WHERE kind = 'alias.move' AND state = 'conflict') ORDER BY h.id`,
          )
          .all()
      expect(history(ana)).toEqual(history(bob))
      const prodOf = async (e: Engine) =>
        (await e.call('registry.models.show', { model: 'iris' })).model.aliases.find((x) => x.alias === 'production')!.versionId
      expect(await prodOf(ana)).toBe(await prodOf(bob))
    }
    expect(await n(team.db, `SELECT count(*) AS n FROM audit_log WHERE action = 'sync.alias.move' AND outcome = 'accepted'`)).toBe(rounds + 1)
    expect(await n(team.db, `SELECT count(*) AS n FROM audit_log WHERE action = 'sync.alias.move' AND outcome = 'conflict'`)).toBe(rounds)
    expect(await n(team.db, `SELECT count(*) AS n FROM sync_records WHERE kind = 'alias_move'`)).toBe(rounds + 1)
  })

  it('a token revoked mid-push: the next request is 401, nothing applied after it, the outbox intact, and a new token resumes with zero duplicates', async () => {
    const team = await startTeamInProcess(pg.cluster())
    const dir = (await import('../../helpers/workspace.js')).tempDir()
    const mo = await teammate(team, 'mo', dir)
    await dayOfWork(mo, 150, 10)
    const total = (await mo.call('sync.status', {})).pending
    expect(total).toBeGreaterThan(2 * 256)
    let revokedAt: Date | null = null
    const watcher = (async () => {
      for (let i = 0; i < 4000 && !revokedAt; i++) {
        if ((await n(team.db, 'SELECT count(*) AS n FROM sync_applied_ops')) >= 100) {
          revokedAt = new Date((await revokeToken(team.db, cliActor(), team.tokenIds.mo)).revokedAt!)
        }
        await new Promise((r) => setTimeout(r, 5))
      }
    })()
    await expect(mo.call('sync.run', {})).rejects.toMatchObject({ code: 'unauthorized' })
    await watcher
    expect(revokedAt).not.toBeNull()
    const applied = await n(team.db, 'SELECT count(*) AS n FROM sync_applied_ops')
    expect(applied).toBeLessThan(total)
    expect(await n(team.db, 'SELECT count(*) AS n FROM sync_applied_ops WHERE applied_at > $1', [revokedAt])).toBe(0)
    // What the server did not take is still in the outbox (and what it took but never answered, too).
    expect((await mo.call('sync.status', {})).pending).toBeGreaterThanOrEqual(total - applied)

    const { token } = await createToken(team.db, cliActor(), 'mo', null)
    await mo.call('sync.connect', { url: team.url(), token, project: PROJECT })
    expect((await mo.call('sync.run', {})).agreed).toBe(true)
    await expectNoDuplicates(team, mo)
  })

  it('the team server killed with SIGKILL mid-push restarts clean: every op whole or absent, then one sync agrees', async () => {
    const base = await teamDatabase(pg.cluster())
    let server = await spawnTeamServer(base)
    const team: TeamFixture = { ...base, url: () => server.url }
    const ana = await teammate(team, 'ana')
    await dayOfWork(ana, 120, 10)
    const killer = (async () => {
      for (let i = 0; i < 4000; i++) {
        if ((await n(base.db, 'SELECT count(*) AS n FROM sync_applied_ops')) >= 60) return server.kill('SIGKILL')
        await new Promise((r) => setTimeout(r, 5))
      }
    })()
    await expect(ana.call('sync.run', {})).rejects.toMatchObject({ code: 'unavailable' })
    await killer
    expect(await n(base.db, `SELECT count(*) AS n FROM sync_applied_ops WHERE outcome = 'pending'`)).toBe(0)
    server = await spawnTeamServer(base, Number(new URL(server.url).port))
    await syncUntilAgreed(ana, 3)
    await expectNoDuplicates(team, ana)
  })

  it('a blob upload cut mid-chunk resumes from the server offset: at most one chunk re-sent, the stored object hashes right', async () => {
    const team = await startTeamInProcess(pg.cluster())
    const ana = await teammate(team, 'ana')
    const objects = ana.context.workspace.objects
    const size = 2 * CHUNK_BYTES + 3 * 1024 * 1024
    const { sha256 } = await objects.putBuffer(randomBytes(size))
    const connection = { url: team.url(), token: team.tokens.ana, project: PROJECT }
    let patches = 0
    const proxy = await startFaultProxy(team.url(), {
      // The second chunk is cut 3 MiB in.
      cutRequestAfter: (line) => (line.startsWith('PATCH') && ++patches === 2 ? 3 * 1024 * 1024 : null),
    })
    await expect(new TeamClient({ ...connection, url: proxy.url }, 'c').uploadBlob(objects, sha256)).rejects.toThrow()
    expect(proxy.stats.cut).toBe(1)
    // The next sync comes later than the server's noticing the cut (the client also realigns on a 409 if not).
    await new Promise((r) => setTimeout(r, 300))
    const resent = await new TeamClient(connection, 'c').uploadBlob(objects, sha256)
    const firstAttempt = CHUNK_BYTES + 3 * 1024 * 1024
    // Everything sent over both attempts is the blob plus at most one chunk.
    expect(firstAttempt + resent - size).toBeLessThanOrEqual(CHUNK_BYTES)
    expect(resent).toBeLessThan(size)
    const stored = new BlobStore(team.objectsDir).pathOf(sha256)
    expect(await hashFile(stored)).toBe(sha256)
  })
})
