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
})
