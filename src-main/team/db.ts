import pg from 'pg'
import { LatheError } from '../engine/api/common/errors.js'

export type Db = pg.Pool
export type Tx = pg.PoolClient

/** A pool on the team database; a bad URL or an unreachable server is a user error naming the URL. */
export async function openDb(url: string): Promise<Db> {
  if (!/^postgres(ql)?:\/\//.test(url)) {
    throw new LatheError('bad_request', `--db must be a postgresql://user@host:port/database URL, not "${url}"`, { field: 'db' })
  }
  const pool = new pg.Pool({ connectionString: url, max: 10 })
  // An idle client that loses its server must not crash the process; the next query reports it.
  pool.on('error', () => {})
  try {
    const client = await pool.connect()
    client.release()
  } catch (error) {
    await pool.end().catch(() => {})
    throw new LatheError('unavailable', `cannot connect to PostgreSQL at ${redact(url)}: ${(error as Error).message}`, { field: 'db' })
  }
  return pool
}

/** The URL without its password, for messages and logs. */
export function redact(url: string): string {
  return url.replace(/(\/\/[^:/@]+:)[^@]*@/, '$1***@')
}

/** Runs `work` in one transaction: committed if it returns, rolled back if it throws. */
export async function inTransaction<T>(db: Db, work: (tx: Tx) => Promise<T>): Promise<T> {
  const client = await db.connect()
  try {
    await client.query('BEGIN')
    const result = await work(client)
    await client.query('COMMIT')
    return result
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {})
    throw error
  } finally {
    client.release()
  }
}
