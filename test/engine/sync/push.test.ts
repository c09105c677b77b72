import { describe, expect, it } from 'vitest'
import { encodeSegment } from '../../../src-main/engine/api/common/metric-segments.js'
import type { Op, OpResult } from '../../../src-main/engine/api/common/sync-protocol.js'
import { verifyAudit } from '../../../src-main/team/audit.js'
import { usePostgres } from '../../helpers/postgres.js'
import { count, PROJECT, startTeamInProcess, type TeamFixture } from '../../helpers/team-sync.js'

const pg = usePostgres()

async function push(team: TeamFixture, ops: Op[]): Promise<OpResult[]> {
  const response = await fetch(`${team.url()}/sync/v1/push`, {
    method: 'POST',
    headers: { authorization: `Bearer ${team.tokens.ana}`, 'content-type': 'application/json', 'lathe-client-id': 'client-a' },
    body: JSON.stringify({ project: PROJECT, ops }),
  })
  expect(response.status).toBe(200)
  return ((await response.json()) as { results: OpResult[] }).results
}

const points = (n: number, from = 0) => Array.from({ length: n }, (_, i) => ({ step: from + i, value: 1 / (i + 1) }))
const data = (p: Array<{ step: number; value: number }>) => Buffer.from(encodeSegment(p)).toString('base64')
const segment = (opId: string, runId: string, name: string, seg: number, p = points(1000, seg * 1000), say = p.length): Op => ({
  opId,
  kind: 'metric.segment',
  payload: { runId, name, segment: seg, points: say, data: data(p) },
})
const runCreate = (id: string): Op => ({ opId: `run.create:${id}`, kind: 'run.create', payload: { id, status: 'running', record: { id } } })

describe('a push answers each op on its own, whatever its neighbours in the batch', () => {
  it('segments in one batch: applied, missing_ref, invalid and duplicate side by side; only the applied are stored, every op audited', async () => {
    const team = await startTeamInProcess(pg.cluster())
    const ops: Op[] = [
      segment('s-early', 'run-1', 'loss', 0), // its run comes later in the batch: not on the server yet
      runCreate('run-1'),
      segment('s0', 'run-1', 'loss', 0),
      segment('s1', 'run-1', 'loss', 1),
      { opId: 's-bytes', kind: 'metric.segment', payload: { runId: 'run-1', name: 'acc', segment: 0, points: 3, data: 'AAAA' } },
      segment('s-count', 'run-1', 'acc', 1, points(10, 1000), 11),
      { opId: 's-shape', kind: 'metric.segment', payload: { runId: 'run-1', name: 'acc', segment: -1, points: 1, data: '' } },
      segment('s-ghost', 'run-9', 'loss', 0),
      segment('s0', 'run-1', 'loss', 0), // the same op twice in one push
      segment('s-acc', 'run-1', 'acc', 0, points(500)),
    ]
    const results = await push(team, ops)
    expect(results.map((r) => [r.opId, r.outcome])).toEqual([
      ['s-early', 'missing_ref'],
      ['run.create:run-1', 'applied'],
      ['s0', 'applied'],
      ['s1', 'applied'],
      ['s-bytes', 'invalid'],
      ['s-count', 'invalid'],
      ['s-shape', 'invalid'],
      ['s-ghost', 'missing_ref'],
      ['s0', 'duplicate'],
      ['s-acc', 'applied'],
    ])
    expect(results[4]!.message).toMatch(/metric.segment: not a metric segment/)
    expect(results[5]!.message).toBe('metric.segment: says 11 points, holds 10')
    expect(results[6]!.message).toMatch(/^metric.segment: segment: /)
    expect(results[7]!.message).toBe('metric.segment: run run-9 is not on the server yet')
    expect(results[8]!.original).toBe('applied')

    const stored = await team.db.query(`SELECT run_id, name, segment, points FROM sync_segments ORDER BY name, segment`)
    expect(stored.rows).toEqual([
      { run_id: 'run-1', name: 'acc', segment: 0, points: 500 },
      { run_id: 'run-1', name: 'loss', segment: 0, points: 1000 },
      { run_id: 'run-1', name: 'loss', segment: 1, points: 1000 },
    ])
    const bytes = await team.db.query(`SELECT data FROM sync_segments WHERE name = 'loss' AND segment = 1`)
    expect(bytes.rows[0].data.toString('base64')).toBe(data(points(1000, 1000)))
    // A refused op keeps no claim: sent again once its run is there, it is applied.
    expect(await count(team.db, `SELECT count(*) AS n FROM sync_applied_ops`)).toBe(4)
    expect(await count(team.db, `SELECT count(*) AS n FROM sync_applied_ops WHERE outcome = 'pending'`)).toBe(0)
    expect(await count(team.db, `SELECT count(*) AS n FROM sync_changes WHERE kind = 'segment'`)).toBe(3)
    const audit = await team.db.query(`SELECT target, outcome FROM audit_log WHERE action = 'sync.metric.segment' ORDER BY seq`)
    expect(audit.rows.map((r) => `${r.target} ${r.outcome}`)).toEqual([
      's-early refused',
      's0 accepted',
      's1 accepted',
      's-bytes refused',
      's-count refused',
      's-shape refused',
      's-ghost refused',
      's0 duplicate',
      's-acc accepted',
    ])

    // The batch again (its answers lost): applied ops are duplicates with their first answer, the early segment now applies.
    const again = await push(team, ops)
    expect(again.map((r) => [r.opId, r.outcome, r.original])).toEqual([
      ['s-early', 'applied', undefined],
      ['run.create:run-1', 'duplicate', 'applied'],
      ['s0', 'duplicate', 'applied'],
      ['s1', 'duplicate', 'applied'],
      ['s-bytes', 'invalid', undefined],
      ['s-count', 'invalid', undefined],
      ['s-shape', 'invalid', undefined],
      ['s-ghost', 'missing_ref', undefined],
      ['s0', 'duplicate', 'applied'],
      ['s-acc', 'duplicate', 'applied'],
    ])
    // s-early names the segment s0 stored: applied as an op, no second copy of the points.
    expect(await count(team.db, `SELECT coalesce(sum(points), 0) AS n FROM sync_segments`)).toBe(2500)
    expect(await verifyAudit(team.db)).toMatchObject({ ok: true, problems: [] })
  })

  it('a dataset version naming a blob the server lacks is missing_ref and changes nothing', async () => {
    const team = await startTeamInProcess(pg.cluster())
    const sha = 'a'.repeat(64)
    const results = await push(team, [
      {
        opId: 'dataset_version.create:v1',
        kind: 'dataset_version.create',
        payload: {
          id: 'v1',
          dataset: 'penguins',
          localNumber: 1,
          objectSha256: sha,
          bytes: 10,
          origin: 'file',
          sourceName: 'p.json',
          sourceSha256: sha,
          optionsKey: '',
          options: {},
          rows: 1,
          columns: [],
          validation: { status: 'none', results: [] },
          createdAt: new Date().toISOString(),
          parents: [],
        },
      },
    ])
    expect(results).toEqual([expect.objectContaining({ outcome: 'missing_ref', message: expect.stringContaining(`names blob ${sha}`) })])
    expect(await count(team.db, `SELECT count(*) AS n FROM sync_records`)).toBe(0)
    expect(await count(team.db, `SELECT count(*) AS n FROM sync_names`)).toBe(0)
    expect(await count(team.db, `SELECT count(*) AS n FROM sync_applied_ops`)).toBe(0)
  })
})
