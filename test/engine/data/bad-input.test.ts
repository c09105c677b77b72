import fs from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { LatheError } from '../../../src-main/engine/api/common/errors.js'
import type { Engine } from '../../../src-main/engine/engine.js'
import { openTestEngine, tempDir } from '../../helpers/workspace.js'

/** What a user can see of the workspace: the dataset list and the object store. */
async function snapshot(engine: Engine) {
  const objects: string[] = []
  for await (const sha of engine.workspace.objects.list()) objects.push(sha)
  const { datasets } = await engine.call('data.list', {})
  return { datasets: datasets.map((d) => [d.name, d.versions]), objects: objects.sort(), tmp: fs.readdirSync(engine.workspace.tmpDir) }
}

async function importError(engine: Engine, input: Record<string, unknown>): Promise<LatheError> {
  const error = await engine.call('data.import', input as never).then(
    () => null,
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(LatheError)
  return error as LatheError
}

describe('bad input to data.import', () => {
  const dir = () => tempDir('lathe-bad-')
  const write = (folder: string, name: string, content: string | Buffer) => {
    const file = path.join(folder, name)
    fs.writeFileSync(file, content)
    return file
  }

  // Each case: a file that must be refused, and what the message must say.
  const cases: Array<{ name: string; file: string; content: string | Buffer; says: RegExp; line?: number }> = [
    { name: 'an empty file', file: 'empty.csv', content: '', says: /empty\.csv is empty/ },
    { name: 'a binary file', file: 'program.csv', content: fs.readFileSync(process.execPath).subarray(0, 4096), says: /binary/ },
    { name: 'ragged rows', file: 'ragged.csv', content: 'a,b,c\n1,2,3\n4,5\n6,7,8\n', says: /a row has 2 fields where the header has 3 at line 3/, line: 3 },
    { name: 'a broken quote', file: 'quote.csv', content: 'a,b\n1,"x\n2,y\n', says: /quoted value is never closed/, line: 2 },
    {
      name: 'invalid UTF-8',
      file: 'latin.csv',
      content: Buffer.concat([Buffer.from('name,city\nann,'), Buffer.from([0x4d, 0xfc, 0x6e]), Buffer.from('chen\n')]),
      says: /not valid UTF-8 at line 2/,
      line: 2,
    },
    { name: 'a JSON that is not records', file: 'numbers.json', content: '[1, 2, 3]', says: /JSON is not records/ },
    { name: 'a JSON scalar', file: 'scalar.json', content: '"hello"', says: /JSON is not records/ },
    { name: 'a truncated JSON', file: 'cut.json', content: '[{"a": 1}, {"a": 2', says: /JSON is malformed/ },
    {
      name: 'a row with an extra field deep in the file',
      file: 'extra.csv',
      content: ['a,b,c', ...Array.from({ length: 60 }, (_, i) => `${i},n${i},${i}`), '60,x,1,EXTRA'].join('\n'),
      says: /4 fields where the header has 3 at line 62/,
      line: 62,
    },
  ]

  for (const c of cases) {
    it(`refuses ${c.name} and leaves the workspace unchanged`, async () => {
      const engine = openTestEngine()
      const folder = dir()
      await engine.call('data.import', { name: 'kept', path: write(folder, 'kept.csv', 'x,y\n1,2\n') })
      const before = await snapshot(engine)
      const error = await importError(engine, { name: 'kept', path: write(folder, c.file, c.content) })
      expect(error.message).toMatch(c.says)
      expect(error.code).toBe('bad_request')
      if (c.line !== undefined) expect(error.line).toBe(c.line)
      expect(await snapshot(engine)).toEqual(before)
    })
  }

  it('refuses a missing file, naming it', async () => {
    const engine = openTestEngine()
    const missing = path.join(dir(), 'nowhere.csv')
    const error = await importError(engine, { name: 'x', path: missing })
    expect(error.code).toBe('not_found')
    expect(error.message).toContain(missing)
    expect((await snapshot(engine)).datasets).toEqual([])
  })

  it('refuses an empty name and a name that is too long', async () => {
    const engine = openTestEngine()
    const file = write(dir(), 'ok.csv', 'a\n1\n')
    const empty = await importError(engine, { name: '  ', path: file })
    expect([empty.field, empty.message]).toEqual(['name', 'the dataset name is empty; give one with --name'])
    const long = await importError(engine, { name: 'n'.repeat(101), path: file })
    expect(long.field).toBe('name')
    expect(long.message).toMatch(/101 characters long; the limit is 100/)
    const at = await importError(engine, { name: 'a@2', path: file })
    expect(at.message).toMatch(/may only contain/)
    expect(await snapshot(engine)).toEqual({ datasets: [], objects: [], tmp: [] })
  })

  it('refuses a type override for a column the file does not have, and a type it cannot apply', async () => {
    const engine = openTestEngine()
    const file = write(dir(), 'zips.csv', 'zip,city\n02134,Boston\n')
    const unknownColumn = await importError(engine, { name: 'zips', path: file, types: { postcode: 'VARCHAR' } })
    expect(unknownColumn.field).toBe('types.postcode')
    const badType = await importError(engine, { name: 'zips', path: file, types: { zip: 'VARCHAR); DROP TABLE x; --' } })
    expect(badType.field).toBe('types.zip')
  })

  it('says where a value does not fit a forced type', async () => {
    const engine = openTestEngine()
    const file = write(dir(), 'ages.csv', 'name,age\nann,31\nbob,unknown\n')
    const error = await importError(engine, { name: 'ages', path: file, types: { age: 'INTEGER' } })
    expect(error.message).toMatch(/does not fit its column type/)
    expect(error.line).toBe(3)
  })
})
