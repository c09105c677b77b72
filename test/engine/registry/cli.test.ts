import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { lathe, latheLines } from '../../cli/run-lathe.js'
import { tempDir } from '../../helpers/workspace.js'

const fixture = path.resolve(import.meta.dirname, '../../fixtures/onnx/iris_logreg.onnx')

describe('lathe models (spawned as a user would)', () => {
  it('imports, gates, promotes with the documented JSON, refuses with exit 1, forces, rolls back, exports and imports a package', async () => {
    const ws = tempDir()
    const w = ['--workspace', ws]
    expect((await lathe(['models', 'import', fixture, '--name', 'iris', ...w])).code).toBe(0)
    const second = await lathe(['models', 'import', fixture, '--name', 'iris', '--meta', 'origin=sklearn', '--meta', 'owner=ana', '--json', ...w])
    expect(JSON.parse(second.stdout).metadata).toMatchObject({ origin: 'sklearn', owner: 'ana', author: 'lathe fixtures' })
    expect((await lathe(['models', 'gate', 'iris', '--alias', 'production', '--min', 'test.accuracy=0.8', '--skip-data-check', ...w])).code).toBe(0)

    const refused = await lathe(['models', 'promote', 'iris', '1', '--alias', 'production', '--json', ...w])
    expect(refused.code).toBe(1)
    expect(latheLines(refused.stderr)).toEqual([
      'lathe: gate refused moving iris:production to v1: metric test.accuracy >= 0.8: v1 has no metric "test.accuracy" (it has: none) (use --force to move it anyway)',
    ])
    expect(JSON.parse(refused.stdout).gate.passed).toBe(false)

    const forced = await lathe(['models', 'promote', 'iris', '1', '--alias', 'production', '--force', '--reason', 'first deploy', '--json', ...w])
    expect(forced.code).toBe(0)
    const promoted = JSON.parse(forced.stdout)
    expect(Object.keys(promoted)).toEqual(['model', 'alias', 'version', 'previous', 'gate', 'forced'])
    expect(promoted).toMatchObject({ model: 'iris', alias: 'production', version: 1, previous: null, forced: true })
    expect(promoted.gate.checks.map((c: { name: string; passed: boolean; detail: string }) => Object.keys(c))).toEqual([
      ['name', 'passed', 'detail'],
      ['name', 'passed', 'detail'],
    ])

    const unexplained = await lathe(['models', 'promote', 'iris', '2', '--alias', 'production', '--force', ...w])
    expect(unexplained.code).toBe(1)
    expect(unexplained.stderr).toContain('a forced move needs a reason for the audit log (--reason "why")')
    expect((await lathe(['models', 'promote', 'iris', '2', '--alias', 'production', '--force', '--reason', 'hotfix', ...w])).stdout).toContain(
      'iris:production -> v2 (was v1) FORCED',
    )
    const back = await lathe(['models', 'rollback', 'iris', '--alias', 'production', '--json', ...w])
    expect(JSON.parse(back.stdout)).toMatchObject({ version: 1, previous: 2 })

    expect((await lathe(['models', 'list', ...w])).stdout).toMatch(/iris\s+2\s+2\s+production=v1 \(since \d{4}-\d\d-\d\d \d\d:\d\d\)/)
    const history = JSON.parse((await lathe(['models', 'history', 'iris', '--json', ...w])).stdout)
    expect(history.moves.map((m: { kind: string; version: number }) => `${m.kind} v${m.version}`)).toEqual(['promote v1', 'promote v2', 'rollback v1'])
    expect(history.audit.filter((a: { action: string }) => a.action.startsWith('alias.')).map((a: { action: string }) => a.action)).toEqual([
      'alias.promote.forced',
      'alias.promote.forced',
      'alias.rollback',
    ])

    const zip = path.join(tempDir(), 'iris.zip')
    expect((await lathe(['models', 'export', 'iris@production', zip, ...w])).code).toBe(0)
    const other = tempDir()
    const imported = JSON.parse((await lathe(['models', 'import', zip, '--json', '--workspace', other])).stdout)
    const original = JSON.parse((await lathe(['models', 'show', 'iris@1', '--json', ...w])).stdout)
    expect(imported.version).toMatchObject({ model: 'iris', version: 1, versionId: original.version.versionId, onnxSha256: original.version.onnxSha256 })

    const corrupt = await lathe(['models', 'import', path.join(import.meta.dirname, 'cli.test.ts'), '--name', 'x', ...w])
    expect(corrupt.code).toBe(1)
    expect(latheLines(corrupt.stderr)).toEqual([expect.stringMatching(/^lathe: cli\.test\.ts is not a valid ONNX model: /)])
    expect((await lathe(['models', 'promote', 'iris', '1', ...w])).code).toBe(2)
    // A dozen processes, each starting Node, tsx and the engine: slow on a busy machine, not wrong.
  }, 180_000)
})
