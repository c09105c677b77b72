import { describe, expect, it } from 'vitest'
import type { LatheError } from '../../../src-main/engine/api/common/errors.js'
import { parsePipeline, sqlTableNames } from '../../../src-main/engine/pipelines/definition.js'
import { exampleYaml } from './helpers.js'

function errorOf(text: string): LatheError {
  try {
    parsePipeline(text, '/p/lathe.yaml')
  } catch (error) {
    return error as LatheError
  }
  throw new Error('parsed without an error')
}

const where = (e: LatheError) => e.details as { line: number; column: number }

describe('reading lathe.yaml', () => {
  it('the example: four stages in run order, each reading the one before', () => {
    const p = parsePipeline(exampleYaml, '/p/lathe.yaml')
    expect(p.name).toBe('weather')
    expect(p.stages.map((s) => [s.name, s.kind, s.refs.map((r) => r.stage)])).toEqual([
      ['raw', 'import', []],
      ['recent', 'sql', ['raw']],
      ['model', 'train', ['recent']],
      ['release', 'promote', ['model']],
    ])
    // The reference to raw inside the SQL is placed at its own column.
    expect(p.stages[1]!.refs[0]).toMatchObject({ line: 7, column: 24 })
  })

  it('a typo in a stage reference is an error at its line and column, with the likely name', () => {
    const e = errorOf(exampleYaml.replace('dataset: recent', 'dataset: recnt'))
    expect(e.message).toContain('/p/lathe.yaml:9:22: stage "model" refers to "recnt"')
    expect(e.message).toContain('did you mean "recent"?')
    expect(where(e)).toEqual({ file: '/p/lathe.yaml', line: 9, column: 22, malformed: true })
  })

  it('a typo in a table of the SQL is an error at its line', () => {
    const e = errorOf(exampleYaml.replace('FROM raw', 'FROM rwa'))
    expect(e.message).toMatch(/^\/p\/lathe\.yaml:7:24: stage "recent" refers to "rwa" \(sql\)/)
  })

  it('a cycle is an error at the reference that closes it', () => {
    const yaml = `pipeline: loop
stages:
  a:
    sql: SELECT * FROM b
  b:
    sql: |
      SELECT *
      FROM a
`
    const e = errorOf(yaml)
    expect(e.message).toContain('stages form a cycle: a -> b -> a')
    expect(where(e).line).toBe(8)
  })

  it('malformed YAML, an unknown key and a wrong kind of reference are each reported where they are', () => {
    expect(where(errorOf('pipeline: w\nstages:\n  raw: {import: x.csv\n'))).toMatchObject({ line: 4 })
    const unknown = errorOf(exampleYaml.replace('epochs: 40', 'epocs: 40'))
    expect(unknown.message).toContain('stage "model" (train): train.epocs: Unrecognized key')
    expect(where(unknown)).toMatchObject({ line: 9 })
    const wrongKind = errorOf(exampleYaml.replace('promote: {model: model', 'promote: {model: recent'))
    expect(wrongKind.message).toContain('names "recent", a sql stage; it needs a train or sweep stage')
    const twoKinds = errorOf(exampleYaml.replace('    register: weather\n', '    sql: SELECT 1\n'))
    expect(twoKinds.message).toContain('stage "model" has 2 kinds (sql, train)')
    expect(where(twoKinds)).toMatchObject({ line: 8, column: 3 })
  })

  it('finds the tables of a query, not its functions, CTEs, columns or strings', () => {
    const names = (sql: string) => sqlTableNames(sql).map((t) => t.name)
    expect(names("SELECT * FROM raw r JOIN extra USING (id) WHERE x = 'FROM nope'")).toEqual(['raw', 'extra'])
    expect(names('WITH t AS (SELECT * FROM a) SELECT * FROM t, b')).toEqual(['a', 'b'])
    expect(names("SELECT * FROM read_csv('x.csv') -- FROM comment")).toEqual([])
    expect(names('SELECT * FROM a UNION ALL BY NAME SELECT * FROM (SELECT * FROM b)')).toEqual(['a', 'b'])
  })
})
