import { execFileSync, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { describe, expect, test } from 'vitest'
import { tempDir } from '../../helpers/workspace.js'
import { vegaData } from './helpers.js'

const lathe = path.resolve('bin/lathe.mjs')

function run(args: string[]) {
  return spawnSync(process.execPath, [lathe, ...args], { encoding: 'utf8' })
}

describe('lathe train / runs', () => {
  test('train --json prints the run, its metrics, epoch seconds and the model object; runs list and show find it', () => {
    const ws = tempDir()
    execFileSync(process.execPath, [lathe, 'data', 'import', vegaData('penguins.json'), '--name', 'penguins', '-w', ws])
    const trained = run(['train', '--dataset', 'penguins', '--target', 'Species', '--epochs', '2', '--hidden', '8', '--seed', '3', '--json', '-w', ws])
    expect(trained.status, trained.stderr).toBe(0)
    const out = JSON.parse(trained.stdout) as Record<string, any>
    expect(Object.keys(out)).toEqual(expect.arrayContaining(['run', 'status', 'backend', 'dataset', 'version', 'task', 'metrics', 'epoch_seconds', 'model']))
    expect(out).toMatchObject({ status: 'finished', backend: 'wasm', dataset: 'penguins', version: 1, task: 'classification' })
    expect(out.metrics.test.accuracy).toBeGreaterThan(0)
    expect(out.metrics.validation.accuracy).toBeGreaterThan(0)
    expect(out.epoch_seconds).toHaveLength(2)
    expect(out.model).toMatch(/^[0-9a-f]{64}$/)

    const list = JSON.parse(run(['runs', 'list', '--json', '-w', ws]).stdout) as { runs: Array<{ id: string }> }
    expect(list.runs.map((r) => r.id)).toEqual([out.run])
    const shown = run(['runs', 'show', out.run, '-w', ws])
    expect(shown.stdout).toContain('confusion matrix')
    expect(shown.stdout).toContain('seed 3')
  }, 120_000)

  test('a bad target is one line on stderr and exit code 1', () => {
    const ws = tempDir()
    execFileSync(process.execPath, [lathe, 'data', 'import', vegaData('penguins.json'), '--name', 'penguins', '-w', ws])
    const bad = run(['train', '--dataset', 'penguins', '--target', 'Speciez', '-w', ws])
    expect(bad.status).toBe(1)
    expect(
      bad.stderr
        .trim()
        .split('\n')
        .filter((l) => l.startsWith('lathe:')),
    ).toEqual([expect.stringContaining('target "Speciez" is not a column of penguins@1')])
    expect(run(['runs', 'cancel', 'run-nope', '-w', ws]).status).toBe(1)
  }, 60_000)

  test('a target of 300 classes is refused in one line naming --allow-many-classes, which then trains it', () => {
    const ws = tempDir()
    const csv = path.join(ws, 'codes.csv')
    fs.writeFileSync(csv, ['x,code', ...Array.from({ length: 6000 }, (_, i) => `${i % 13},k${i % 300}`)].join('\n') + '\n')
    execFileSync(process.execPath, [lathe, 'data', 'import', csv, '--name', 'codes', '-w', ws])
    const refused = run(['train', '--dataset', 'codes', '--target', 'code', '--epochs', '1', '--hidden', '4', '-w', ws])
    expect(refused.status).toBe(1)
    expect(refused.stderr.split('\n').filter((l) => l.startsWith('lathe:'))).toEqual([
      expect.stringMatching(/"code" of codes@1 has 300 distinct values, more than the 100 classes.*--allow-many-classes/),
    ])
    expect((JSON.parse(run(['runs', 'list', '--json', '-w', ws]).stdout) as { runs: unknown[] }).runs).toEqual([])
    const trained = run(['train', '--dataset', 'codes', '--target', 'code', '--epochs', '1', '--hidden', '4', '--allow-many-classes', '--json', '-w', ws])
    expect(trained.status, trained.stderr).toBe(0)
    expect(JSON.parse(trained.stdout)).toMatchObject({ status: 'finished', task: 'classification' })
  }, 120_000)
})
