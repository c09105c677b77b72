import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { lathe, latheLines } from '../../cli/run-lathe.js'
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
})
