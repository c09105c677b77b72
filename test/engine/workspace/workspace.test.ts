import fs from 'node:fs'
import path from 'node:path'
import Database from 'better-sqlite3'
import { describe, expect, it } from 'vitest'
import { LatheError } from '../../../src-main/engine/api/common/errors.js'
import { appendAudit, listAudit } from '../../../src-main/engine/workspace/audit.js'
import { migrate } from '../../../src-main/engine/workspace/migrate.js'
import { migrations } from '../../../src-main/engine/workspace/migrations/index.js'
import type { Migration } from '../../../src-main/engine/workspace/migrations/types.js'
import { Workspace } from '../../../src-main/engine/workspace/workspace.js'
import { afterThisTest, tempDir } from '../../helpers/workspace.js'

function openWorkspace(dir: string): Workspace {
  const workspace = Workspace.open(dir, { holder: 'workspace test' })
  afterThisTest(() => workspace.close())
  return workspace
}

const latest = migrations.at(-1)!.version

const tableNames = (db: Database.Database) => db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`).pluck().all() as string[]

describe('a workspace folder', () => {
  it('is created with lathe.db, objects/ and tmp/, migrated to the newest schema, in WAL mode', async () => {
    const dir = path.join(tempDir(), 'nested', 'new-workspace')
    const workspace = openWorkspace(dir)
    expect(fs.existsSync(path.join(dir, 'lathe.db'))).toBe(true)
    expect(fs.statSync(path.join(dir, 'objects')).isDirectory()).toBe(true)
    expect(fs.statSync(path.join(dir, 'tmp')).isDirectory()).toBe(true)
    expect(workspace.schema).toEqual({ from: 0, to: latest })
    expect(workspace.db.pragma('user_version', { simple: true })).toBe(latest)
    expect(workspace.db.pragma('journal_mode', { simple: true })).toBe('wal')
    expect(workspace.db.pragma('foreign_keys', { simple: true })).toBe(1)
    expect(tableNames(workspace.db)).toEqual(expect.arrayContaining(['settings', 'audit_log']))
  })

  it('reopens with its data and without re-running migrations', async () => {
    const dir = tempDir()
    const first = Workspace.open(dir)
    first.db.prepare(`INSERT INTO settings (key, value) VALUES ('theme', 'dark')`).run()
    appendAudit(first.db, { actor: 'ana', action: 'settings.set', entityType: 'setting', entityId: 'theme', after: 'dark' })
    const { sha256 } = await first.objects.putBuffer('kept across restarts')
    await first.close()
    expect(fs.existsSync(path.join(dir, 'lathe.lock'))).toBe(false)

    const second = openWorkspace(dir)
    expect(second.schema).toEqual({ from: latest, to: latest })
    expect(second.db.prepare(`SELECT value FROM settings WHERE key = 'theme'`).pluck().get()).toBe('dark')
    expect(listAudit(second.db, { entityType: 'setting' })).toMatchObject([{ actor: 'ana', action: 'settings.set', after: 'dark' }])
    expect((await second.objects.read(sha256)).toString()).toBe('kept across restarts')
  })

  it('keeps the audit log append-only', () => {
    const workspace = openWorkspace(tempDir())
    appendAudit(workspace.db, { actor: 'ana', action: 'x', entityType: 't', entityId: '1' })
    expect(() => workspace.db.prepare(`UPDATE audit_log SET actor = 'eve'`).run()).toThrow(/append-only/)
    expect(() => workspace.db.prepare(`DELETE FROM audit_log`).run()).toThrow(/append-only/)
    expect(listAudit(workspace.db)).toHaveLength(1)
  })

  it('clears tmp/ at open: a staged file was never committed', async () => {
    const dir = tempDir()
    const first = Workspace.open(dir)
    const staged = first.objects.stagingPath('.parquet')
    fs.writeFileSync(staged, 'half-written by a process that crashed')
    fs.mkdirSync(path.join(first.tmpDir, 'a-staging-folder'))
    await first.close()
    expect(fs.readdirSync(path.join(dir, 'tmp'))).toHaveLength(2)

    const second = openWorkspace(dir)
    expect(fs.readdirSync(second.tmpDir)).toEqual([])
  })

  it('refuses a database written by a newer Lathe, and leaves it and the lock alone', () => {
    const dir = tempDir()
    const db = new Database(path.join(dir, 'lathe.db'))
    db.pragma(`user_version = ${latest + 5}`)
    db.close()
    expect(() => Workspace.open(dir)).toThrow(/newer Lathe/)
    expect(fs.existsSync(path.join(dir, 'lathe.lock'))).toBe(false)
    const after = new Database(path.join(dir, 'lathe.db'))
    expect(after.pragma('user_version', { simple: true })).toBe(latest + 5)
    after.close()
  })

  it('refuses a path that is a file, naming it', () => {
    const file = path.join(tempDir(), 'not-a-folder')
    fs.writeFileSync(file, 'x')
    expect(() => Workspace.open(file)).toThrow(LatheError)
    expect(() => Workspace.open(file)).toThrow(/not-a-folder/)
  })

  it('opens monitor.duckdb on first use and closes it with the workspace', async () => {
    const dir = tempDir()
    const workspace = Workspace.open(dir)
    const duck = await workspace.monitor()
    expect(await workspace.monitor()).toBe(duck)
    await duck.run('CREATE TABLE t AS SELECT 42 AS answer')
    await workspace.close()
    expect(fs.existsSync(path.join(dir, 'monitor.duckdb'))).toBe(true)
    expect(() => workspace.monitor()).toThrow(/closed/)

    const again = openWorkspace(dir)
    const reader = await (await again.monitor()).runAndReadAll('SELECT answer FROM t')
    expect(reader.getRows()).toEqual([[42]])
  })
})

describe('migrations', () => {
  const createTable = (version: number, table: string, log: string[]): Migration => ({
    version,
    name: `create ${table}`,
    up(db) {
      log.push(table)
      db.exec(`CREATE TABLE ${table} (id INTEGER PRIMARY KEY)`)
    },
  })

  it('the shipped list starts at 1 and only increases (numbers are reserved per branch, so gaps are allowed)', () => {
    const versions = migrations.map((m) => m.version)
    expect(versions[0]).toBe(1)
    expect(versions).toEqual([...new Set(versions)].sort((a, b) => a - b))
  })

  it('a number that lands after a higher one is still applied to a database already past it', () => {
    const db = new Database(':memory:')
    const log: string[] = []
    migrate(db, [createTable(1, 'a', log), createTable(10, 'j', log)])
    expect(db.pragma('user_version', { simple: true })).toBe(10)
    expect(migrate(db, [createTable(1, 'a', log), createTable(7, 'g', log), createTable(10, 'j', log)])).toEqual({ from: 10, to: 10 })
    expect(log).toEqual(['a', 'j', 'g'])
    expect(db.pragma('user_version', { simple: true })).toBe(10)
    db.close()
  })

  it('run in order, only the ones not yet applied', () => {
    const db = new Database(':memory:')
    const log: string[] = []
    const list = [createTable(1, 'a', log), createTable(2, 'b', log)]
    expect(migrate(db, list)).toEqual({ from: 0, to: 2 })
    expect(log).toEqual(['a', 'b'])
    expect(migrate(db, [...list, createTable(3, 'c', log)])).toEqual({ from: 2, to: 3 })
    expect(log).toEqual(['a', 'b', 'c'])
    expect(db.pragma('user_version', { simple: true })).toBe(3)
    db.close()
  })

  it('a failing migration rolls back entirely: user_version and tables stay as before', () => {
    const file = path.join(tempDir(), 'lathe.db')
    const db = new Database(file)
    db.pragma('journal_mode = WAL')
    const log: string[] = []
    migrate(db, [createTable(1, 'a', log)])
    const broken: Migration = {
      version: 2,
      name: 'half done',
      up(db) {
        db.exec(`CREATE TABLE b (id INTEGER PRIMARY KEY); INSERT INTO a (id) VALUES (7);`)
        throw new Error('disk full halfway through')
      },
    }
    expect(() => migrate(db, [createTable(1, 'a', log), broken, createTable(3, 'c', log)])).toThrow(/disk full/)
    db.close()

    const reopened = new Database(file)
    expect(reopened.pragma('user_version', { simple: true })).toBe(1)
    expect(tableNames(reopened)).toEqual(['a', 'workspace_migrations'])
    expect(reopened.prepare('SELECT count(*) FROM a').pluck().get()).toBe(0)
    reopened.close()
  })

  it('refuses a list that is out of order', () => {
    const db = new Database(':memory:')
    const log: string[] = []
    expect(() => migrate(db, [createTable(2, 'b', log), createTable(1, 'a', log)])).toThrow(/numbered 1, expected a number above 2/)
    expect(log).toEqual([])
    db.close()
  })
})
