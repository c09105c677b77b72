import { describe, expect, test } from 'vitest'
import { LatheError } from '../../../src-main/engine/api/common/errors.js'
import { openTestEngine } from '../../helpers/workspace.js'
import { importVega, trainAndWait } from './helpers.js'

describe('names, tags, notes and archiving of runs', () => {
  test('a run gets a name, tags and notes, which the list and the audit log show; an empty name removes it', async () => {
    const engine = openTestEngine()
    await importVega(engine, 'seattle-weather.csv', 'weather')
    const run = await trainAndWait(engine, { dataset: 'weather', target: 'weather', params: { epochs: 2 } })
    const events: unknown[] = []
    engine.events.subscribe(['training.run.edited'], (e) => events.push(e.payload))

    const edited = await engine.call('training.runs.edit', { run: run.id, name: 'baseline', tags: ['small', 'small', ' wide '], notes: 'first try' })
    expect(edited).toMatchObject({ name: 'baseline', tags: ['small', 'wide'], notes: 'first try', metrics: run.metrics })
    expect((await engine.call('training.runs.list', {})).runs[0]).toMatchObject({ name: 'baseline', tags: ['small', 'wide'] })
    expect(events).toEqual([{ runId: run.id }])
    const audit = engine.workspace.db.prepare(`SELECT action FROM audit_log WHERE entity_id = ?`).pluck().all(run.id)
    expect(audit).toContain('run.edit')

    const cleared = await engine.call('training.runs.edit', { run: run.id, name: '' })
    expect(cleared.name).toBeUndefined()
    expect(cleared.tags).toEqual(['small', 'wide'])
  }, 120_000)

  test('a bad tag is refused with the field named and nothing changes', async () => {
    const engine = openTestEngine()
    await importVega(engine, 'seattle-weather.csv', 'weather')
    const run = await trainAndWait(engine, { dataset: 'weather', target: 'weather', params: { epochs: 1 } })
    const error = await engine.call('training.runs.edit', { run: run.id, tags: ['ok', 'no;semicolons'] }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(LatheError)
    expect((error as LatheError).field).toBe('tags.1')
    expect((await engine.call('training.runs.show', { run: run.id })).run.tags).toBeUndefined()
  }, 120_000)

  test('an archived run leaves the default list, stays readable and can be restored', async () => {
    const engine = openTestEngine()
    await importVega(engine, 'seattle-weather.csv', 'weather')
    const run = await trainAndWait(engine, { dataset: 'weather', target: 'weather', params: { epochs: 1 } })
    const archived = await engine.call('training.runs.archive', { run: run.id })
    expect(archived.archivedAt).toBeTypeOf('string')
    expect((await engine.call('training.runs.list', {})).runs).toEqual([])
    expect((await engine.call('training.runs.list', { includeArchived: true })).runs.map((r) => r.id)).toEqual([run.id])
    expect((await engine.call('training.runs.show', { run: run.id })).run.metrics).toEqual(run.metrics)
    await engine.call('training.runs.archive', { run: run.id, archived: false })
    expect((await engine.call('training.runs.list', {})).runs.map((r) => r.id)).toEqual([run.id])
  }, 120_000)
})
