import fs from 'node:fs'
import path from 'node:path'
import type Database from 'better-sqlite3'
import type { DuckDBInstance, DuckDBConnection } from '@duckdb/node-api'
import { LatheError } from '../api/common/errors.js'
import { WorkspaceLock } from './lock.js'
import { migrate } from './migrate.js'
import { migrations } from './migrations/index.js'
import { migrateMonitor } from './monitor-migrate.js'
import { ensurePredictionLogView } from './monitor-migrations/002-prediction-log.js'
import { monitorMigrations } from './monitor-migrations/index.js'
import { ObjectStore } from './objects.js'
import { workspaceFiles } from './paths.js'
import { openSqlite } from './sqlite.js'

/** DuckDB's memory cap for monitor.duckdb (drift, logs, feedback) unless LATHE_DUCKDB_MEMORY_LIMIT says otherwise. */
export const DEFAULT_DUCKDB_MEMORY_LIMIT = '1GB'

export interface OpenWorkspaceOptions {
  /** Who holds the lock, shown to a second process that is refused. */
  holder?: string
}

/**
 * An open workspace folder: `lathe.db` (SQLite, WAL, migrated), `monitor.duckdb`
 * (opened on first use), the object store and its staging folder, and the lock
 * that makes this process the only writer.
 */
export class Workspace {
  private monitorDb: Promise<{ instance: DuckDBInstance; connection: DuckDBConnection }> | null = null
  private closed = false

  private constructor(
    readonly dir: string,
    readonly db: Database.Database,
    readonly objects: ObjectStore,
    readonly lock: WorkspaceLock,
    readonly schema: { from: number; to: number },
  ) {}

  static open(dir: string, options: OpenWorkspaceOptions = {}): Workspace {
    const root = path.resolve(dir)
    if (fs.existsSync(root) && !fs.statSync(root).isDirectory()) {
      throw new LatheError('bad_request', `workspace ${root} is not a folder`, { field: 'workspace' })
    }
    try {
      fs.mkdirSync(root, { recursive: true })
    } catch (error) {
      throw new LatheError('bad_request', `cannot create the workspace folder ${root}: ${(error as Error).message}`, {
        field: 'workspace',
      })
    }
    if (!fs.statSync(root).isDirectory()) {
      throw new LatheError('bad_request', `workspace ${root} is not a folder`, { field: 'workspace' })
    }
    const lock = WorkspaceLock.acquire(root, options.holder ?? 'lathe')
    try {
      const tmp = path.join(root, workspaceFiles.tmp)
      const objectsDir = path.join(root, workspaceFiles.objects)
      fs.mkdirSync(tmp, { recursive: true })
      fs.mkdirSync(objectsDir, { recursive: true })
      // Anything left in staging was never committed: a crash mid-write. Safe to drop.
      for (const entry of fs.readdirSync(tmp)) fs.rmSync(path.join(tmp, entry), { recursive: true, force: true })

      const db = openSqlite(path.join(root, workspaceFiles.db))
      db.pragma('journal_mode = WAL')
      db.pragma('synchronous = NORMAL')
      db.pragma('foreign_keys = ON')
      db.pragma('busy_timeout = 5000')
      let schema: { from: number; to: number }
      try {
        schema = migrate(db, migrations)
      } catch (error) {
        db.close()
        throw error
      }
      return new Workspace(root, db, new ObjectStore(objectsDir, tmp), lock, schema)
    } catch (error) {
      lock.release()
      throw error
    }
  }

  get tmpDir(): string {
    return this.objects.tmpDir
  }

  /** Where the prediction log's segment files live. */
  get predictionLogDir(): string {
    return path.join(this.dir, workspaceFiles.predictionLog)
  }

  /**
   * The DuckDB database for prediction logs and feedback, opened (and migrated) once
   * on first use; a failed open is not kept, so the next call tries again. Its memory
   * is capped (LATHE_DUCKDB_MEMORY_LIMIT, default 1GB, any DuckDB size such as 512MB);
   * what does not fit spills to the workspace's tmp/duckdb/.
   */
  monitor(): Promise<DuckDBConnection> {
    if (this.closed) throw new LatheError('unavailable', 'the workspace is closed')
    this.monitorDb ??= (async () => {
      const spill = path.join(this.tmpDir, 'duckdb')
      fs.mkdirSync(spill, { recursive: true })
      // Loaded on first use: most commands never open the monitoring store.
      const { DuckDBInstance } = await import('@duckdb/node-api')
      const instance = await DuckDBInstance.create(path.join(this.dir, workspaceFiles.monitor), {
        memory_limit: process.env.LATHE_DUCKDB_MEMORY_LIMIT || DEFAULT_DUCKDB_MEMORY_LIMIT,
        temp_directory: spill,
      })
      const connection = await instance.connect()
      try {
        await migrateMonitor(connection, monitorMigrations, { logDir: this.predictionLogDir })
        await ensurePredictionLogView(connection, this.predictionLogDir)
      } catch (error) {
        connection.closeSync()
        instance.closeSync()
        throw error
      }
      return { instance, connection }
    })()
    const opening = this.monitorDb
    opening.catch(() => {
      if (this.monitorDb === opening) this.monitorDb = null
    })
    return opening.then((m) => m.connection)
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    if (this.monitorDb) {
      const opened = await this.monitorDb.catch(() => null)
      opened?.connection.closeSync()
      opened?.instance.closeSync()
    }
    this.db.pragma('wal_checkpoint(TRUNCATE)')
    this.db.close()
    this.lock.release()
  }
}
