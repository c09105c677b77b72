import fs from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { checkRulesOnRows } from '../../../src-main/engine/data/rules.js'
import { getDatasetRules } from '../../../src-main/engine/data/validation.js'
import { requireValidDatasetVersion, resolveDatasetVersion } from '../../../src-main/engine/data/resolve.js'
import { openTestEngine, tempDir } from '../../helpers/workspace.js'

const vega = path.resolve('node_modules/vega-datasets/data')

describe('validation rules', () => {
  it('a version breaking a rule is stored, marked failed, with the rule and example rows', async () => {
    const engine = openTestEngine()
    const dir = tempDir()
    const file = path.join(dir, 'people.csv')
    fs.writeFileSync(file, 'id,age,country\n1,34,NO\n2,41,SE\n3,29,DK\n')
    await engine.call('data.import', { name: 'people', path: file })
    await engine.call('data.rules.set', {
      dataset: 'people',
      rules: [
        { kind: 'column', column: 'id', type: 'BIGINT' },
        { kind: 'not_null', column: 'age' },
        { kind: 'range', column: 'age', min: 0, max: 120 },
        { kind: 'allowed_values', column: 'country', values: ['NO', 'SE', 'DK'] },
        { kind: 'unique', column: 'id' },
        { kind: 'row_count', min: 2 },
        { kind: 'sql', name: 'adults', predicate: 'age >= 18' },
      ],
    })
    expect((await engine.call('data.validate', { dataset: 'people' })).status).toBe('passed')
    expect(getDatasetRules(engine.context, 'people').map((r) => r.kind)).toEqual([
      'column',
      'not_null',
      'range',
      'allowed_values',
      'unique',
      'row_count',
      'sql',
    ])

    fs.writeFileSync(file, 'id,age,country\n1,34,NO\n2,,SE\n2,130,FI\n4,12,DK\n')
    const v2 = await engine.call('data.import', { name: 'people', path: file })
    expect(v2).toMatchObject({ version: 2, created: true, validation: { status: 'failed' } })
    const failed = Object.fromEntries(v2.validation.results.filter((r) => !r.passed).map((r) => [r.rule.kind, r]))
    expect(Object.keys(failed).sort()).toEqual(['allowed_values', 'not_null', 'range', 'sql', 'unique'])
    expect(failed.not_null!.examples).toEqual([{ id: 2, age: null, country: 'SE', __row: 1 }])
    expect(failed.range!.examples.map((r) => r.__row)).toEqual([2])
    expect(failed.unique!.failingRows).toBe(2)
    expect(failed.sql!.examples.map((r) => r.age)).toEqual([null, 12])
    expect(resolveDatasetVersion(engine.context, 'people@2').validation.status).toBe('failed')
    expect(resolveDatasetVersion(engine.context, 'people@1').validation.status).toBe('passed')
    // Training refuses a failed version unless told explicitly to use it.
    expect(() => requireValidDatasetVersion(resolveDatasetVersion(engine.context, 'people@2'))).toThrow(/people@2 failed validation/)
    expect(requireValidDatasetVersion(resolveDatasetVersion(engine.context, 'people@2'), true).version).toBe(2)
  })

  it('refuses a predicate that does not parse, and one that is more than an expression', async () => {
    const engine = openTestEngine()
    await engine.call('data.import', { name: 'w', path: path.join(vega, 'seattle-weather.csv') })
    await expect(engine.call('data.rules.set', { dataset: 'w', rules: [{ kind: 'sql', name: 'typo', predicate: 'wnd >> > 3' }] })).rejects.toMatchObject({
      code: 'bad_request',
      field: 'rules.0.predicate',
    })
    await expect(engine.call('data.rules.set', { dataset: 'w', rules: [{ kind: 'sql', name: 'two', predicate: 'true; DROP TABLE x' }] })).rejects.toMatchObject(
      {
        field: 'rules.0.predicate',
      },
    )
    expect((await engine.call('data.show', { dataset: 'w' })).rules).toEqual([])
  })

  it('checkRulesOnRows applies the same rules to rows that are not a dataset (a serving request)', async () => {
    const engine = openTestEngine()
    const rules = [
      { kind: 'not_null' as const, column: 'wind' },
      { kind: 'range' as const, column: 'wind', min: 0, max: 20 },
      { kind: 'allowed_values' as const, column: 'weather', values: ['sun', 'rain'] },
      { kind: 'row_count' as const, min: 100 },
    ]
    const results = await checkRulesOnRows(engine.context, rules, [
      { wind: 3.5, weather: 'sun' },
      { wind: 40, weather: 'snow' },
      { wind: null, weather: 'rain' },
    ])
    expect(results.map((r) => [r.rule.kind, r.passed, r.examples.map((e) => e.__row)])).toEqual([
      ['not_null', false, [2]],
      ['range', false, [1]],
      ['allowed_values', false, [1]],
    ])
  })
})
