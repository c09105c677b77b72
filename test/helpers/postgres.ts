import { execFile, execFileSync } from 'node:child_process'
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import pg from 'pg'
import { afterAll, beforeAll } from 'vitest'

const run = promisify(execFile)
/** Debian's PostgreSQL binaries: LATHE_PG_BIN, else the newest /usr/lib/postgresql/<major>/bin. */
function pgBin(): string {
  if (process.env.LATHE_PG_BIN) return process.env.LATHE_PG_BIN
  const base = '/usr/lib/postgresql'
  const majors = fs.existsSync(base) ? fs.readdirSync(base).filter((d) => /^\d+$/.test(d)).sort((a, b) => Number(b) - Number(a)) : []
  const found = majors.map((m) => path.join(base, m, 'bin')).find((dir) => fs.existsSync(path.join(dir, 'initdb')))
  if (!found) throw new Error('PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb): apt-get install -y postgresql, or set LATHE_PG_BIN')
  return found
}
const PG_BIN = pgBin()
const isRoot = process.getuid?.() === 0

/**
 * A throwaway PostgreSQL cluster: initdb into a temp folder, started on a free
 * 127.0.0.1 port (as the `postgres` user when we are root, since PostgreSQL refuses
 * to run as root), stopped and removed afterwards. No system service is touched.
 */
export interface PgCluster {
  port: number
  dir: string
  /** A URL for a database in this cluster (the maintenance database by default). */
  url(database?: string): string
  /** A new, empty database; each test can have its own. */
  createDatabase(): Promise<string>
  stop(): Promise<void>
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo
      server.close(() => resolve(port))
    })
  })
}

async function asPostgres(command: string, args: string[]): Promise<void> {
  const file = path.join(PG_BIN, command)
  if (isRoot) await run('runuser', ['-u', 'postgres', '--', file, ...args])
  else await run(file, args)
}

let counter = 0

/** Where the PostgreSQL programs (pg_dump, psql) are. */
export const pgBinDir = PG_BIN

export async function startPostgres(): Promise<PgCluster> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lathe-pg-'))
  const data = path.join(dir, 'data')
  const stopCluster = async () => {
    await asPostgres('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']).catch(() => {})
    fs.rmSync(dir, { recursive: true, force: true })
  }
  try {
    if (isRoot) await run('chown', ['postgres:postgres', dir])
    await asPostgres('initdb', ['-D', data, '-U', 'postgres', '-A', 'trust', '--no-sync', '-E', 'UTF8', '--locale', 'C'])
    let lastError: unknown
    for (let attempt = 0; attempt < 3; attempt++) {
      const port = await freePort()
      try {
        await asPostgres('pg_ctl', [
          '-D', data, '-l', path.join(dir, 'server.log'), '-w', '-t', '60', 'start',
          '-o', `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off -c max_connections=200`,
        ])
        const url = (database = 'postgres') => `postgresql://postgres@127.0.0.1:${port}/${database}`
        const cluster: PgCluster = {
          port,
          dir,
          url,
          async createDatabase() {
            const name = `t_${process.pid}_${++counter}`
            const client = new pg.Client({ connectionString: url() })
            await client.connect()
            try {
              await client.query(`CREATE DATABASE ${name}`)
            } finally {
              await client.end()
            }
            return url(name)
          },
          stop: stopCluster,
        }
        return cluster
      } catch (error) {
        // Another process took the port between probe and start: try another.
        lastError = error
      }
    }
    throw lastError
  } catch (error) {
    const log = path.join(dir, 'server.log')
    const tail = fs.existsSync(log) ? fs.readFileSync(log, 'utf8').slice(-2000) : ''
    await stopCluster()
    throw new Error(`could not start a throwaway PostgreSQL: ${(error as Error).message}\n${tail}`)
  }
}

/** One cluster per test file: started before its tests, stopped and removed after them, even when they fail. */
export function usePostgres(): { cluster: () => PgCluster } {
  let cluster: PgCluster | undefined
  const stopOnExit = () => {
    if (cluster) {
      try {
        const data = path.join(cluster.dir, 'data')
        const ctl = path.join(PG_BIN, 'pg_ctl')
        const args = ['-D', data, '-m', 'immediate', 'stop']
        // Synchronous: the process is exiting.
        execFileSync(isRoot ? 'runuser' : ctl, isRoot ? ['-u', 'postgres', '--', ctl, ...args] : args, { stdio: 'ignore' })
      } catch {
        // Already stopped.
      }
      fs.rmSync(cluster.dir, { recursive: true, force: true })
    }
  }
  beforeAll(async () => {
    cluster = await startPostgres()
    process.once('exit', stopOnExit)
  }, 120_000)
  afterAll(async () => {
    process.removeListener('exit', stopOnExit)
    await cluster?.stop()
    cluster = undefined
  })
  return {
    cluster: () => {
      if (!cluster) throw new Error('the PostgreSQL cluster is not started (usePostgres() must be called at the top of the test file)')
      return cluster
    },
  }
}
