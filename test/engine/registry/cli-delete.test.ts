import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { lathe, latheLines } from '../../cli/run-lathe.js'
import { Engine } from '../../../src-main/engine/engine.js'
import { tempDir } from '../../helpers/workspace.js'

const fixture = path.resolve(import.meta.dirname, '../../fixtures/onnx/iris_logreg.onnx')

describe('lathe models delete (spawned as a user would)', () => {
  it('says what depends on a version, refuses one an alias holds with exit 1, archives one with history, deletes one nothing refers to', async () => {
    const w = ['--workspace', tempDir()]
    for (let i = 0; i < 3; i++) expect((await lathe(['models', 'import', fixture, '--name', 'iris', ...w])).code).toBe(0)
    expect((await lathe(['models', 'promote', 'iris', '1', '--alias', 'staging', ...w])).code).toBe(0)

    const held = await lathe(['models', 'delete', 'iris@1', ...w])
    expect(held.code).toBe(1)
    expect(latheLines(held.stderr).join(' ')).toMatch(/iris v1 cannot be deleted or archived now: alias staging holds iris v1/)
    expect((await lathe(['models', 'promote', 'iris', '2', '--alias', 'staging', ...w])).code).toBe(0)

    const dry = await lathe(['models', 'delete', 'iris@1', '--dry-run', ...w])
    expect(dry.stdout).toMatch(/^iris v1 would be archived:\n {2}v1 has 2 alias moves in its history/)
    expect((await lathe(['models', 'delete', 'iris@1', ...w])).stdout).toMatch(/^iris v1 archived:/)
    const erased = JSON.parse((await lathe(['models', 'delete', 'iris@3', '--json', ...w])).stdout)
    expect(erased).toMatchObject({ action: 'deleted', dependents: { action: 'delete' } })
    const byAlias = await lathe(['models', 'delete', 'iris@staging', ...w])
    expect(byAlias.code).toBe(1)
    expect(byAlias.stderr).toContain('name the version by its number (iris@3), not by an alias')
  }, 120_000)

  it('lathe runs delete erases a run nothing refers to and archives one a model version came from', async () => {
    const ws = tempDir()
    const w = ['--workspace', ws]
    const engine = Engine.open({ workspaceDir: ws, holder: 'test setup' })
    await engine.call('data.import', { name: 'penguins', path: path.resolve('node_modules/vega-datasets/data/penguins.json') })
    const ids: string[] = []
    for (const seed of [1, 2]) {
      const run = await engine.call('training.start', { dataset: 'penguins', target: 'Species', modelFamily: 'linear', seed, params: { epochs: 1 } })
      ids.push((await engine.call('training.runs.wait', { run: run.id, timeoutMs: 120_000 })).id)
    }
    await engine.call('registry.versions.register', { runId: ids[0]!, name: 'penguins' })
    await engine.close()

    const dry = await lathe(['runs', 'delete', ids[0]!, '--dry-run', ...w])
    expect(dry.stdout).toContain(`run ${ids[0]}: dry run, nothing changed`)
    expect(dry.stdout).toContain('model version penguins v1 was registered from it: the run is archived')
    expect((await lathe(['runs', 'delete', ids[0]!, ...w])).stdout).toMatch(new RegExp(`^run ${ids[0]}: archived`))
    expect((await lathe(['runs', 'delete', ids[1]!, ...w])).stdout).toMatch(new RegExp(`^run ${ids[1]}: deleted`))
    const gone = await lathe(['runs', 'show', ids[1]!, ...w])
    expect(gone.code).toBe(1)
    expect((await lathe(['runs', 'archive', ids[0]!, '--restore', ...w])).stdout).toBe(`run ${ids[0]}: restored\n`)
  }, 180_000)
})
