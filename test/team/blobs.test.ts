import { createHash, randomBytes } from 'node:crypto'
import fs from 'node:fs'
import http from 'node:http'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { usePostgres } from '../helpers/postgres.js'
import { tempDir } from '../helpers/workspace.js'
import { startLathe } from '../cli/run-lathe.js'
import { TeamBlobClient } from '../../src-main/team/client.js'
import { filesUnder, startTeam, superuser, type TeamUnderTest } from './harness.js'

const pg = usePostgres()
const sha = (data: Buffer) => createHash('sha256').update(data).digest('hex')

function blobFile(bytes: number): { file: string; data: Buffer<ArrayBuffer>; sha256: string } {
  const data = randomBytes(bytes) as Buffer<ArrayBuffer>
  const file = path.join(tempDir('lathe-blob-'), 'blob')
  fs.writeFileSync(file, data)
  return { file, data, sha256: sha(data) }
}

/** Starts a PATCH that declares `declared` bytes, sends `data`, and leaves the request open; `cut()` drops the connection. */
function openChunk(url: string, token: string, id: string, offset: number, declared: number, data: Buffer) {
  const target = new URL(`/blobs/uploads/${id}`, url)
  const request = http.request(target, {
    method: 'PATCH',
    headers: {
      authorization: `Bearer ${token}`,
      'content-type': 'application/offset+octet-stream',
      'upload-offset': String(offset),
      'content-length': String(declared),
    },
  })
  request.on('error', () => {})
  request.write(data)
  return { cut: () => request.destroy() }
}

/** Waits until a file under the objects folder's uploads holds more than `bytes` (the server has written them). */
async function untilPartHolds(team: { objectsDir: string }, id: string, bytes: number): Promise<void> {
  const part = path.join(team.objectsDir, 'uploads', id)
  for (let i = 0; i < 2000; i++) {
    if (fs.existsSync(part) && fs.statSync(part).size > bytes) return
    await new Promise((r) => setTimeout(r, 10))
  }
  throw new Error(`the server never wrote past ${bytes} bytes of upload ${id}`)
}

const storedBlobs = (team: { objectsDir: string }) => filesUnder(path.join(team.objectsDir, 'sha256'))

async function createUpload(team: TeamUnderTest, token: string, sha256: string, size: number) {
  const r = await team.call(token, 'POST', '/blobs/uploads', { sha256, size, project: 'weather' })
  expect(r.status, JSON.stringify(r.body)).toBe(201)
  return r.body as { id: string; offset: number }
}

describe('blob uploads', () => {
  it('an upload cut mid-chunk resumes from the server offset', async () => {
    const team = await startTeam(pg.cluster())
    const token = await team.userToken('alice', 'member')
    const { data, sha256 } = blobFile(3 << 20)
    const upload = await createUpload(team, token, sha256, data.length)

    const first = openChunk(team.url, token, upload.id, 0, data.length, data.subarray(0, 1 << 20))
    await untilPartHolds(team, upload.id, 256 << 10)
    first.cut()

    const client = new TeamBlobClient(team.url, token)
    const offset = await client.uploadOffset(upload.id)
    expect(offset).toBeGreaterThan(256 << 10)
    expect(offset).toBeLessThanOrEqual(1 << 20)
    // Creating the upload again finds the same one, where it stands.
    const recreated = await team.call(token, 'POST', '/blobs/uploads', { sha256, size: data.length, project: 'weather' })
    expect(recreated).toMatchObject({ status: 200, body: { id: upload.id, offset, complete: false } })
    const stale = await fetch(`${team.url}/blobs/uploads/${upload.id}`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/offset+octet-stream', 'upload-offset': '0' },
      body: data.subarray(0, 10),
    })
    expect(stale.status).toBe(409)
    expect((await stale.json()).error.details).toEqual({ offset })

    const done = await client.patch(upload.id, offset!, data.subarray(offset!))
    expect(done).toMatchObject({ complete: true, offset: data.length })
    expect(await client.headBlob(sha256)).toBe(data.length)
    expect(sha(await client.getBlob(sha256))).toBe(sha256)
    expect(await client.getBlob(sha256, { start: 100, end: 199 })).toEqual(data.subarray(100, 200))
    expect(await client.getBlob(sha256, { start: data.length - 5 })).toEqual(data.subarray(data.length - 5))
    expect(filesUnder(path.join(team.objectsDir, 'uploads'))).toEqual([])

    const again = await team.call(token, 'POST', '/blobs/uploads', { sha256, size: data.length, project: 'weather' })
    expect(again).toMatchObject({ status: 200, body: { complete: true } })
    const outside = await fetch(`${team.url}/blobs/sha256/${sha256}`, { headers: { authorization: `Bearer ${token}`, range: `bytes=${data.length}-` } })
    expect(outside.status).toBe(416)
  })

  it('a blob whose bytes do not match its hash is refused and nothing lands', async () => {
    const team = await startTeam(pg.cluster())
    const token = await team.userToken('alice', 'member')
    const { data, sha256 } = blobFile(100_000)
    const upload = await createUpload(team, token, sha256, data.length)
    const wrong = Buffer.from(data)
    wrong[50_000]! ^= 0xff
    const r = await fetch(`${team.url}/blobs/uploads/${upload.id}`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/offset+octet-stream', 'upload-offset': '0' },
      body: wrong,
    })
    expect(r.status).toBe(400)
    const body = await r.json()
    expect(body.error).toMatchObject({ code: 'bad_request', field: 'sha256' })
    expect(body.error.message).toContain(`not the declared ${sha256}`)
    expect(storedBlobs(team)).toEqual([])
    expect(filesUnder(path.join(team.objectsDir, 'uploads'))).toEqual([])
    expect((await team.db.query('SELECT count(*)::int AS n FROM uploads')).rows[0].n).toBe(0)
    expect(await new TeamBlobClient(team.url, token).headBlob(sha256)).toBeNull()
    const audit = await team.call(team.adminToken, 'GET', '/admin/v1/audit')
    expect(audit.body.at(-1)).toMatchObject({ action: 'blob.upload', outcome: 'refused', userName: 'alice', target: sha256 })

    const tooLong = await createUpload(team, token, sha256, data.length)
    const over = await fetch(`${team.url}/blobs/uploads/${tooLong.id}`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/offset+octet-stream', 'upload-offset': '0' },
      body: Buffer.concat([data, data]),
    })
    expect(over.status).toBe(413)
    expect(await new TeamBlobClient(team.url, token).uploadOffset(tooLong.id)).toBe(0)
    const noOffset = await fetch(`${team.url}/blobs/uploads/${tooLong.id}`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/offset+octet-stream' },
      body: data,
    })
    expect(noOffset.status).toBe(400)
    expect((await noOffset.json()).error.field).toBe('Upload-Offset')
    const badHash = await team.call(token, 'POST', '/blobs/uploads', { sha256: 'abc', size: 3, project: 'weather' })
    expect(badHash.status).toBe(400)
  })

  it("a viewer's upload is 403 and creates nothing", async () => {
    const team = await startTeam(pg.cluster())
    const viewer = await team.userToken('vera', 'viewer')
    const { data, sha256 } = blobFile(1000)
    const r = await team.call(viewer, 'POST', '/blobs/uploads', { sha256, size: data.length, project: 'weather' })
    expect(r.status).toBe(403)
    expect(r.body.error.message).toContain('vera is a viewer in project "weather"')
    expect((await team.db.query('SELECT count(*)::int AS n FROM uploads')).rows[0].n).toBe(0)
    expect(filesUnder(team.objectsDir)).toEqual(['.team-server.lock'])
    const audit = await team.call(team.adminToken, 'GET', '/admin/v1/audit')
    expect(audit.body.at(-1)).toMatchObject({ action: 'blob.upload', outcome: 'refused', userName: 'vera', project: 'weather' })

    // A member of one project is a stranger in another.
    const member = await team.userToken('mia', 'member', 'weather')
    await team.userToken('odin', 'member', 'other')
    expect((await team.call(member, 'POST', '/blobs/uploads', { sha256, size: data.length, project: 'other' })).status).toBe(403)
    // And the upload a member made is not the viewer's to write to.
    const upload = await createUpload(team, member, sha256, data.length)
    const patch = await fetch(`${team.url}/blobs/uploads/${upload.id}`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${viewer}`, 'content-type': 'application/offset+octet-stream', 'upload-offset': '0' },
      body: data,
    })
    expect(patch.status).toBe(403)
    expect(await new TeamBlobClient(team.url, member).uploadOffset(upload.id)).toBe(0)
  })

  it('two clients uploading the same blob at once end with one object', async () => {
    const team = await startTeam(pg.cluster())
    const a = new TeamBlobClient(team.url, await team.userToken('alice', 'member'), { clientId: 'client-a' })
    const b = new TeamBlobClient(team.url, await team.userToken('bob', 'member'), { clientId: 'client-b' })
    const { file, data, sha256 } = blobFile(1 << 20)
    const [ra, rb] = await Promise.all([
      a.uploadFile('weather', file, { chunkBytes: 128 << 10, retries: 100 }),
      b.uploadFile('weather', file, { chunkBytes: 128 << 10, retries: 100 }),
    ])
    expect(ra.sha256).toBe(sha256)
    expect(rb.sha256).toBe(sha256)
    expect(storedBlobs(team)).toEqual([path.join(sha256.slice(0, 2), sha256.slice(2))])
    // Buffer.equals: a deep toEqual walks a megabyte element by element.
    expect(fs.readFileSync(path.join(team.objectsDir, 'sha256', sha256.slice(0, 2), sha256.slice(2))).equals(data)).toBe(true)
    expect(filesUnder(path.join(team.objectsDir, 'uploads'))).toEqual([])
    expect((await team.db.query('SELECT count(*)::int AS n FROM uploads')).rows[0].n).toBe(0)
    const audit = (await team.call(team.adminToken, 'GET', '/admin/v1/audit')).body as Array<Record<string, unknown>>
    const accepted = audit.filter((r) => r.action === 'blob.upload' && r.outcome === 'accepted')
    expect(accepted).toHaveLength(1)
    expect(['client-a', 'client-b']).toContain(accepted[0]!.clientId)
  })

  it('stale uploads expire with their bytes', async () => {
    const team = await startTeam(pg.cluster())
    const token = await team.userToken('alice', 'member')
    const { data, sha256 } = blobFile(10_000)
    const upload = await createUpload(team, token, sha256, data.length)
    const client = new TeamBlobClient(team.url, token)
    await client.patch(upload.id, 0, data.subarray(0, 4000))
    const su = await superuser(team.dbUrl)
    await su.query("UPDATE uploads SET expires_at = now() - interval '1 second'")
    expect(await team.ctx.uploads.sweep()).toEqual({ expired: 1, strays: 0 })
    expect(await client.uploadOffset(upload.id)).toBeNull()
    expect(filesUnder(path.join(team.objectsDir, 'uploads'))).toEqual([])
    // Creating it again starts from nothing.
    expect((await createUpload(team, token, sha256, data.length)).offset).toBe(0)
  })
})

describe('a team server killed mid-upload', () => {
  it('restarts clean with SIGKILL mid-chunk and the upload resumes', async () => {
    const cluster = pg.cluster()
    const team = await startTeam(cluster)
    const token = await team.userToken('alice', 'member')
    await team.close()
    const objects = team.objectsDir
    fs.mkdirSync(objects, { recursive: true })
    const args = ['team-server', 'start', '--db', team.dbUrl, '--objects', objects, '--port', '0', '--json', '--log-level', 'warn']

    const first = await startLathe(args)
    const client = new TeamBlobClient(first.first.url, token)
    const { data, sha256 } = blobFile(4 << 20)
    const upload = await client.createUpload('weather', sha256, data.length)
    await client.patch(upload.id, 0, data.subarray(0, 1 << 20))
    const chunk = openChunk(first.first.url, token, upload.id, 1 << 20, 1 << 20, data.subarray(1 << 20, (1 << 20) + (512 << 10)))
    await untilPartHolds({ objectsDir: objects }, upload.id, (1 << 20) + (64 << 10))
    first.child.kill('SIGKILL')
    await first.exited
    chunk.cut()

    const second = await startLathe(args)
    const resumed = new TeamBlobClient(second.first.url, token)
    // The bytes written past the last acknowledged offset are cut back at start.
    expect(await resumed.uploadOffset(upload.id)).toBe(1 << 20)
    expect(fs.statSync(path.join(objects, 'uploads', upload.id)).size).toBe(1 << 20)
    const done = await resumed.patch(upload.id, 1 << 20, data.subarray(1 << 20))
    expect(done.complete).toBe(true)
    expect(sha(await resumed.getBlob(sha256))).toBe(sha256)
    expect(filesUnder(path.join(objects, 'uploads'))).toEqual([])
    const health = await fetch(`${second.first.url}/health`)
    expect(await health.json()).toEqual({ ok: true })
    const metrics = await fetch(`${second.first.url}/metrics`, { headers: { authorization: `Bearer ${token}` } })
    expect(await metrics.text()).toContain('lathe_team_upload_bytes_total')
    fs.rmSync(objects, { recursive: true, force: true })
  })
})
