import { execFile } from 'node:child_process'
import path from 'node:path'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import { tempDir } from '../../helpers/workspace.js'

const run = promisify(execFile)
const lathe = (args: string[]) => run(path.resolve('bin/lathe.mjs'), args, { encoding: 'utf8' })
const weather = path.resolve('node_modules/vega-datasets/data/seattle-weather.csv')

describe('lathe data (CLI)', () => {
  it('prints the --json shapes the issue gives for import and profile, and exits 1 on a user error', async () => {
    const workspace = tempDir()
    const imported = JSON.parse((await lathe(['data', 'import', weather, '--name', 'weather', '--type', 'wind=VARCHAR', '-w', workspace, '--json'])).stdout)
    expect(Object.keys(imported)).toEqual(['dataset', 'version', 'rows', 'columns', 'created'])
    expect(imported).toMatchObject({ dataset: 'weather', version: 1, rows: 1461, created: true })
    expect(imported.columns.find((c: { name: string }) => c.name === 'wind')).toEqual({ name: 'wind', type: 'VARCHAR' })

    const profile = JSON.parse((await lathe(['data', 'profile', 'weather@1', '-w', workspace, '--json'])).stdout)
    expect(Object.keys(profile)).toEqual(['dataset', 'version', 'rows', 'columns'])
    const tempMax = profile.columns.find((c: { name: string }) => c.name === 'temp_max')
    expect(Object.keys(tempMax)).toEqual(['name', 'type', 'count', 'nulls', 'distinct', 'min', 'max', 'mean', 'std', 'quantiles', 'histogram'])
    expect(Object.keys(tempMax.quantiles)).toEqual(['p05', 'p25', 'p50', 'p75', 'p95'])
    expect(profile.columns.find((c: { name: string }) => c.name === 'weather').top[0]).toEqual({ value: 'rain', count: 641 })

    const failed = await lathe(['data', 'show', 'weather@9', '-w', workspace]).then(
      () => null,
      (e: { code: number; stderr: string }) => e,
    )
    expect(failed?.code).toBe(1)
    expect(failed?.stderr.trim()).toBe('lathe: dataset "weather" has no version 9 (latest is 1)')
  })

  it('previews a transform, says what depends on a version, deletes only what nothing uses and archives the rest', async () => {
    const workspace = tempDir()
    const refused = (args: string[]) =>
      lathe([...args, '-w', workspace]).then(
        () => null,
        (e: { code: number; stderr: string }) => e,
      )
    await lathe(['data', 'import', weather, '--name', 'weather', '-w', workspace])
    const sql = 'SELECT weather, count(*) AS days FROM weather@1 GROUP BY ALL ORDER BY weather'
    const preview = (await lathe(['data', 'transform', '--name', 'days', '--sql', sql, '--preview', '2', '-w', workspace])).stdout
    expect(preview).toContain('from weather@1: weather VARCHAR, days BIGINT')
    expect(preview).toMatch(/drizzle\s+53/)
    expect(preview).not.toContain('rain')
    const bad = await refused(['data', 'transform', '--name', 'days', '--sql', 'SELECT nope FROM weather@1', '--preview'])
    expect(bad?.stderr).toMatch(/^lathe: the transform SQL is not valid at line 1, column 8: Binder Error/)
    await lathe(['data', 'transform', '--name', 'days', '--sql', sql, '-w', workspace])

    expect((await lathe(['data', 'dependents', 'weather@1', '-w', workspace])).stdout).toContain('weather@1  days@1 (derived by SQL)')
    const blocked = await refused(['data', 'delete', 'weather@1', '--yes'])
    expect(blocked?.code).toBe(1)
    expect(blocked?.stderr).toContain('cannot delete weather@1: days@1 (derived by SQL) uses weather@1. Archive it instead (lathe data archive weather@1)')
    const unconfirmed = await refused(['data', 'delete', 'days'])
    expect(unconfirmed?.stderr).toContain('Pass --yes to confirm when not at a terminal')
    expect((await lathe(['data', 'delete', 'days', '--yes', '-w', workspace])).stdout.trim()).toBe('deleted dataset days and its versions 1')

    expect((await lathe(['data', 'archive', 'weather', '-w', workspace])).stdout.trim()).toBe('archived dataset weather')
    expect((await lathe(['data', 'list', '-w', workspace])).stdout.trim()).toBe('no datasets yet: lathe data import FILE --name NAME')
    expect((await lathe(['data', 'list', '--archived', '-w', workspace])).stdout).toContain('weather (archived)')
    expect((await lathe(['data', 'archive', 'weather', '--restore', '-w', workspace])).stdout.trim()).toBe('restored dataset weather')
  })
})
