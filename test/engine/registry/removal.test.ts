import fs from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { LatheError } from '../../../src-main/engine/api/common/errors.js'
import { openTestEngine } from '../../helpers/workspace.js'
import { importVega, trainAndWait } from '../training/helpers.js'

const fixture = path.resolve(import.meta.dirname, '../../fixtures/onnx/iris_logreg.onnx')

async function refusal(promise: Promise<unknown>): Promise<LatheError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(LatheError)
  return error as LatheError
}

describe('deleting and archiving models and versions', () => {
  it('deletes a version nothing refers to, archives one with alias history, refuses one an alias holds', async () => {
    const engine = openTestEngine()
    for (let i = 0; i < 3; i++) await engine.call('registry.versions.import', { file: fixture, name: 'iris' })

    // Nothing refers to v3: a dry run says it would be erased and changes nothing.
    const dry = await engine.call('registry.versions.remove', { model: 'iris', version: '3', dryRun: true })
    expect(dry).toMatchObject({ action: 'none', dryRun: true, dependents: { action: 'delete', aliases: [], aliasMoves: 0 } })
    expect((await engine.call('registry.models.show', { model: 'iris' })).versions.map((v) => v.version)).toEqual([1, 2, 3])

    await engine.call('registry.promote', { model: 'iris', version: 1, alias: 'staging' })
    // An alias holds v1: refused with what to do, nothing changed.
    const held = await refusal(engine.call('registry.versions.remove', { model: 'iris', version: '1' }))
    expect(held.code).toBe('conflict')
    expect(held.message).toMatch(/alias staging holds iris v1: promote another version to staging first/)

    // Once staging moves on, v1 has alias history: archived, not erased.
    await engine.call('registry.promote', { model: 'iris', version: 2, alias: 'staging' })
    const planned = await engine.call('registry.versions.remove', { model: 'iris', version: '1', dryRun: true })
    expect(planned.dependents.action).toBe('archive')
    expect(planned.dependents.reasons.join(' ')).toMatch(/2 alias moves in its history/)
    const archived = await engine.call('registry.versions.remove', { model: 'iris', version: '1' })
    expect(archived.action).toBe('archived')
    const deleted = await engine.call('registry.versions.remove', { model: 'iris', version: '3' })
    expect(deleted.action).toBe('deleted')

    const shown = await engine.call('registry.models.show', { model: 'iris' })
    expect(shown.versions.map((v) => [v.version, Boolean(v.archivedAt)])).toEqual([
      [1, true],
      [2, false],
    ])
    // An archived version is retired: it cannot be promoted again, until restored.
    const retired = await refusal(engine.call('registry.promote', { model: 'iris', version: 1, alias: 'staging' }))
    expect(retired.message).toMatch(/iris v1 is archived \(kept for lineage since .*\): promote another version/)
    expect(await engine.call('registry.restore', { model: 'iris', version: '1' })).toEqual({ model: 'iris', version: 1, restored: true })
    expect((await engine.call('registry.versions.show', { model: 'iris', version: '1' })).version.archivedAt).toBeUndefined()
    await engine.call('registry.versions.remove', { model: 'iris', version: '1' })
    // The history still names v1, and the schema refuses to erase it behind the operations' back.
    expect((await engine.call('registry.history', { model: 'iris' })).moves.map((m) => m.version)).toContain(1)
    expect(() => engine.workspace.db.prepare('DELETE FROM registry_versions WHERE version = 1').run()).toThrow(/kept for lineage/)
    // The bare ONNX graph of a version is the object it was imported from, byte for byte.
    const onnx = await engine.call('registry.export', { model: 'iris', version: '2', format: 'onnx' })
    expect(onnx.fileName).toBe('iris-v2.onnx')
    expect(Buffer.from(onnx.content!, 'base64').equals(fs.readFileSync(fixture))).toBe(true)
    const audit = (await engine.call('registry.history', { model: 'iris' })).audit.map((a) => a.action)
    expect(audit).toEqual(expect.arrayContaining(['version.archive', 'version.delete']))
  })

  it('a model: refused while an alias is set, archived with its history, deleted when nothing refers to it', async () => {
    const engine = openTestEngine()
    await engine.call('registry.versions.import', { file: fixture, name: 'scratch' })
    await engine.call('registry.versions.import', { file: fixture, name: 'iris' })
    await engine.call('registry.promote', { model: 'iris', version: 1, alias: 'staging' })

    const blocked = await refusal(engine.call('registry.models.remove', { model: 'iris' }))
    expect(blocked.message).toMatch(/alias staging holds v1/)
    const plan = await engine.call('registry.models.remove', { model: 'iris', dryRun: true })
    expect(plan.dependents).toMatchObject({ action: 'blocked', aliases: [{ alias: 'staging', version: 1 }], versions: [1] })

    const gone = await engine.call('registry.models.remove', { model: 'scratch' })
    expect(gone.action).toBe('deleted')
    expect((await engine.call('registry.models.list', {})).map((m) => m.name)).toEqual(['iris'])
    await expect(engine.call('registry.models.show', { model: 'scratch' })).rejects.toThrow(/no model named "scratch"/)
    // The name is free again: a new import starts at v1.
    expect((await engine.call('registry.versions.import', { file: fixture, name: 'scratch' })).version).toBe(1)

    // A monitor watching a model and a deployment serving it are named, and block.
    await engine.call('monitoring.monitors.add', { name: 'scratch-drift', model: 'scratch', spec: { selector: '1' } })
    await engine.call('serving.deploy', { model: 'scratch', selector: '1' })
    const used = await engine.call('registry.models.remove', { model: 'scratch', dryRun: true })
    expect(used.dependents).toMatchObject({ action: 'blocked', monitors: [{ name: 'scratch-drift' }], deployments: [{ model: 'scratch', selector: '1' }] })
    expect(used.dependents.reasons.join(' ')).toMatch(/monitor scratch-drift watches scratch: remove it first/)
    const pinned = await refusal(engine.call('registry.versions.remove', { model: 'scratch', version: '1' }))
    expect(pinned.message).toMatch(/the endpoint serves scratch v1 \(deployed as scratch:1\): undeploy it/)
  })
})

describe('deleting runs', () => {
  it('deletes a run nothing refers to and archives one a model version was registered from', async () => {
    const engine = openTestEngine()
    await importVega(engine, 'penguins.json', 'penguins')
    const spec = { dataset: 'penguins', target: 'Species', modelFamily: 'linear', params: { epochs: 2 } }
    const kept = await trainAndWait(engine, spec)
    const loose = await trainAndWait(engine, { ...spec, seed: 7 })
    await engine.call('registry.versions.register', { runId: kept.id, name: 'penguins' })

    const keptPlan = await engine.call('training.runs.delete', { run: kept.id, dryRun: true })
    expect(keptPlan.reasons.join(' ')).toMatch(/model version penguins v1 was registered from it: the run is archived/)
    expect(keptPlan.versions).toEqual([{ model: 'penguins', version: 1 }])
    const keptResult = await engine.call('training.runs.delete', { run: kept.id })
    expect(keptResult.action).toBe('archived')
    // Lineage still reaches the run.
    expect((await engine.call('training.runs.show', { run: kept.id })).run.archivedAt).toBeTruthy()
    const lineage = await engine.call('registry.lineage', { model: 'penguins', version: '1' })
    expect(lineage.nodes.find((n) => n.kind === 'run')).toMatchObject({ id: `run:${kept.id}`, present: true })

    const loosePlan = await engine.call('training.runs.delete', { run: loose.id, dryRun: true })
    expect(loosePlan).toMatchObject({ action: 'none', dryRun: true, versions: [] })
    await engine.call('training.runs.show', { run: loose.id })
    expect((await engine.call('training.runs.delete', { run: loose.id })).action).toBe('deleted')
    await expect(engine.call('training.runs.show', { run: loose.id })).rejects.toThrow(/no run/i)
    const metrics = engine.workspace.db.prepare('SELECT count(*) FROM training_metrics WHERE run_id = ?').pluck().get(loose.id)
    expect(metrics).toBe(0)
    const list = await engine.call('training.runs.list', { includeArchived: true })
    expect(list.runs.map((r) => r.id)).toEqual([kept.id])
  }, 240_000)
})
