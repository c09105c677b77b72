import { createHash } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { Workspace } from '../../../src-main/engine/workspace/workspace.js'
import { afterThisTest, tempDir } from '../../helpers/workspace.js'

function openStore() {
  const workspace = Workspace.open(tempDir(), { holder: 'objects test' })
  afterThisTest(() => workspace.close())
  return workspace.objects
}

const sha256 = (data: string | Buffer) => createHash('sha256').update(data).digest('hex')

describe('the object store', () => {
  it('stores bytes under their sha256 and reads them back', async () => {
    const store = openStore()
    const { sha256: id, bytes } = await store.putBuffer('a,b\n1,2\n')
    expect(id).toBe(sha256('a,b\n1,2\n'))
    expect(bytes).toBe(8)
    expect(store.pathOf(id)).toBe(path.join(store.root, 'sha256', id.slice(0, 2), id.slice(2)))
    expect(store.has(id)).toBe(true)
    expect((await store.read(id)).toString()).toBe('a,b\n1,2\n')
    const listed: string[] = []
    for await (const sha of store.list()) listed.push(sha)
    expect(listed).toEqual([id])
  })

  it('moves a staged file in by rename (same inode), leaving nothing in tmp/', async () => {
    const store = openStore()
    const staged = store.stagingPath('.parquet')
    expect(path.dirname(staged)).toBe(store.tmpDir)
    fs.writeFileSync(staged, Buffer.alloc(4096, 7))
    const inode = fs.statSync(staged).ino
    const { sha256: id } = await store.commit(staged)
    expect(fs.existsSync(staged)).toBe(false)
    expect(fs.statSync(store.pathOf(id)).ino).toBe(inode)
    expect(fs.readdirSync(store.tmpDir)).toEqual([])
    // Objects are immutable: read-only on disk.
    expect(fs.statSync(store.pathOf(id)).mode & 0o222).toBe(0)
  })

  it('stores the same bytes once', async () => {
    const store = openStore()
    const a = await store.putBuffer('same')
    const b = await store.putBuffer('same')
    expect(b).toEqual(a)
    const listed: string[] = []
    for await (const sha of store.list()) listed.push(sha)
    expect(listed).toHaveLength(1)
    expect(fs.readdirSync(store.tmpDir)).toEqual([])
  })

  it('reports a corrupted object on read and on verify', async () => {
    const store = openStore()
    const { sha256: id } = await store.putBuffer('the original bytes')
    const file = store.pathOf(id)
    fs.chmodSync(file, 0o644)
    fs.writeFileSync(file, 'bit rot')
    await expect(store.read(id)).rejects.toMatchObject({ code: 'conflict', message: expect.stringMatching(new RegExp(`${id} is corrupt`)) })
    await expect(store.verify(id)).rejects.toMatchObject({ code: 'conflict', message: expect.stringContaining(sha256('bit rot')) })
    // A caller that has its own check may skip the hash.
    expect((await store.read(id, { verify: false })).toString()).toBe('bit rot')
  })

  it('reports a missing object and an id that is not a sha256', async () => {
    const store = openStore()
    const absent = sha256('never stored')
    await expect(store.read(absent)).rejects.toMatchObject({ code: 'not_found', message: expect.stringContaining(absent) })
    await expect(store.verify(absent)).rejects.toMatchObject({ code: 'not_found' })
    expect(() => store.pathOf('../../etc/passwd')).toThrow(/not a sha256 object id/)
  })
})
