import fs from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { openTestEngine, tempDir } from '../../helpers/workspace.js'

const weatherCsv = path.resolve('node_modules/vega-datasets/data/seattle-weather.csv')

describe('training on a dataset version that failed validation', () => {
  it('is refused unless the run explicitly allows it', async () => {
    const engine = openTestEngine()
    const client = engine.client()
    await client.call('data.import', { name: 'weather', path: weatherCsv })
    // Wind in Seattle reaches 9.5 m/s: a rule capping it at 5 fails the next version.
    await client.call('data.rules.set', { dataset: 'weather', rules: [{ kind: 'range', column: 'wind', max: 5 }] })
    const smaller = path.join(tempDir(), 'weather-2012.csv')
    fs.writeFileSync(smaller, fs.readFileSync(weatherCsv, 'utf8').split('\n').slice(0, 367).join('\n') + '\n')
    const failed = await client.call('data.import', { name: 'weather', path: smaller })
    expect(failed.validation.status).toBe('failed')

    const spec = { dataset: `weather@${failed.version}`, target: 'weather', exclude: ['date'], params: { epochs: 1, hidden: [8] } }
    await expect(client.call('training.start', spec)).rejects.toThrow(/failed validation/)
    expect((await client.call('training.runs.list', {})).runs).toHaveLength(0)

    const started = await client.call('training.start', { ...spec, allowInvalidData: true })
    const run = await client.call('training.runs.wait', { run: started.id })
    expect(run.status).toBe('finished')
    expect(run.dataset.version).toBe(failed.version)
  })
})
