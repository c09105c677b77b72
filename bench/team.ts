/**
 * `npm run bench -- team`: a 1 GiB blob uploaded through the team server (a child
 * process, on a throwaway PostgreSQL) in 8 MiB chunks, then again with the connection
 * cut at a random offset and resumed from the server's offset. Goal on a 2-core
 * machine: at most 5 s, at most one chunk (8 MiB) sent twice. Printed beside the
 * floor for the same bytes on this disk (copy + fsync) and the load average.
 */
import { spawn } from 'node:child_process'
import { createHash, randomBytes, randomInt } from 'node:crypto'
import fs from 'node:fs'
import fsp from 'node:fs/promises'
import http from 'node:http'
import os from 'node:os'
import path from 'node:path'
import readline from 'node:readline'
import { startPostgres } from '../test/helpers/postgres.js'
import { addProject, addUser, createToken } from '../src-main/team/accounts.js'
import { CHUNK_BYTES, TeamBlobClient } from '../src-main/team/client.js'
import { openDb } from '../src-main/team/db.js'
import { cliActor, initTeamServer } from '../src-main/team/init.js'

const root = path.resolve(import.meta.dirname, '..')
const SIZE = Number(process.env.BENCH_TEAM_BYTES ?? 1024 ** 3)
const GOAL_S = 5

const load = () => os.loadavg().map((l) => l.toFixed(2)).join(' ')
const mib = (n: number) => `${(n / 1024 ** 2).toFixed(1)} MiB`

async function writeRandomFile(file: string): Promise<string> {
  const hash = createHash('sha256')
  const fh = await fsp.open(file, 'w')
  try {
    for (let done = 0; done < SIZE; ) {
      const chunk = randomBytes(Math.min(CHUNK_BYTES, SIZE - done))
      hash.update(chunk)
      await fh.write(chunk)
      done += chunk.length
    }
  } finally {
    await fh.close()
  }
  return hash.digest('hex')
}

/** A client that counts the bytes it puts on the wire and, once, sends a chunk only up to `cutAt` and drops the connection. */
class CuttingClient extends TeamBlobClient {
  wire = 0
  private cut = false

  constructor(url: string, token: string, private readonly cutAt: number | null) {
    super(url, token, { clientId: 'bench' })
  }

  override async patch(id: string, offset: number, data: Uint8Array) {
    const cutAt = this.cutAt
    if (cutAt !== null && !this.cut && offset <= cutAt && cutAt < offset + data.length) {
      this.cut = true
      const part = data.subarray(0, cutAt - offset)
      this.wire += part.length
      await new Promise<void>((resolve) => {
        const request = http.request(new URL(`/blobs/uploads/${id}`, this.baseUrl), {
          method: 'PATCH',
          headers: { authorization: `Bearer ${this.token}`, 'content-type': 'application/offset+octet-stream', 'upload-offset': String(offset), 'content-length': String(data.length) },
        })
        request.on('error', () => resolve())
        // Drop the connection once the part has left, as a real cut would.
        request.write(part, () => setTimeout(() => { request.destroy(); resolve() }, 20))
      })
      throw new Error(`connection cut at byte ${cutAt}`)
    }
    this.wire += data.length
    return super.patch(id, offset, data)
  }
}

export async function run(): Promise<void> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'lathe-bench-team-'))
  const file = path.join(work, 'blob-1gib')
  const objects = path.join(work, 'objects')
  process.stdout.write(`load average before: ${load()}\n`)
  const cluster = await startPostgres()
  let server: ReturnType<typeof spawn> | null = null
  try {
    const dbUrl = await cluster.createDatabase()
    const db = await openDb(dbUrl)
    await initTeamServer(db, objects)
    await addProject(db, cliActor(), 'bench')
    await addUser(db, cliActor(), 'bench', 'member', 'bench')
    const { token } = await createToken(db, cliActor(), 'bench', null)
    await db.end()

    let t = performance.now()
    const sha256 = await writeRandomFile(file)
    process.stdout.write(`generated ${mib(SIZE)} in ${((performance.now() - t) / 1000).toFixed(2)} s (sha256 ${sha256.slice(0, 12)}...)\n`)

    // The floor: the same bytes copied on this disk and fsynced.
    t = performance.now()
    const copy = path.join(work, 'copy')
    await fsp.copyFile(file, copy)
    const fh = await fsp.open(copy, 'r')
    await fh.sync()
    await fh.close()
    const floor = (performance.now() - t) / 1000
    await fsp.rm(copy)

    server = spawn(process.execPath, [path.join(root, 'bin', 'lathe.mjs'), 'team-server', 'start', '--db', dbUrl, '--objects', objects, '--port', '0', '--json', '--log-level', 'warn'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    const line = await new Promise<string>((resolve, reject) => {
      readline.createInterface({ input: server!.stdout! }).once('line', resolve)
      server!.once('exit', (code) => reject(new Error(`the team server exited with ${code}`)))
    })
    const url = JSON.parse(line).url as string
    const stored = path.join(objects, 'sha256', sha256.slice(0, 2), sha256.slice(2))

    const timed = async (cutAt: number | null) => {
      const client = new CuttingClient(url, token, cutAt)
      const start = performance.now()
      const report = await client.uploadFile('bench', file, { sha256 })
      const seconds = (performance.now() - start) / 1000
      if (report.existed || !fs.existsSync(stored)) throw new Error('the blob did not land')
      return { seconds, resent: client.wire - SIZE }
    }

    const clean = await timed(null)
    await fsp.chmod(stored, 0o644)
    await fsp.rm(stored)
    const cutAt = randomInt(1, SIZE - 1)
    const resumed = await timed(cutAt)

    process.stdout.write(`\nteam server upload, ${mib(SIZE)} in ${mib(CHUNK_BYTES)} chunks (load average now ${load()}):\n`)
    process.stdout.write(`  floor (copy + fsync on this disk)   ${floor.toFixed(2)} s\n`)
    process.stdout.write(`  clean upload                        ${clean.seconds.toFixed(2)} s  (${mib(SIZE / clean.seconds)}/s, ${(clean.seconds / floor).toFixed(2)}x the floor)\n`)
    process.stdout.write(
      `  cut at byte ${cutAt}, resumed     ${resumed.seconds.toFixed(2)} s  (${(resumed.seconds / floor).toFixed(2)}x the floor), re-sent ${resumed.resent} bytes (${mib(resumed.resent)})\n`,
    )
    process.stdout.write(
      `  goal: <= ${GOAL_S} s (${resumed.seconds <= GOAL_S ? 'met' : 'missed'}: ${(resumed.seconds / GOAL_S).toFixed(2)}x), <= 1 chunk re-sent (${resumed.resent <= CHUNK_BYTES ? 'met' : 'missed'})\n`,
    )
  } finally {
    server?.kill('SIGTERM')
    await new Promise((r) => setTimeout(r, 200))
    server?.kill('SIGKILL')
    await cluster.stop()
    fs.rmSync(work, { recursive: true, force: true })
  }
}
