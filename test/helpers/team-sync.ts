import { spawn, type ChildProcess } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import readline from 'node:readline'
import type { Pool } from 'pg'
import { expect } from 'vitest'
import type { Engine } from '../../src-main/engine/engine.js'
import { addProject, addUser, createToken } from '../../src-main/team/accounts.js'
import { openDb, type Db } from '../../src-main/team/db.js'
import { cliActor, initTeamServer } from '../../src-main/team/init.js'
import { createTeamServer } from '../../src-main/team/server.js'
import type { PgCluster } from './postgres.js'
import { irisOnnx, penguinsJson, recordRun } from './synced-records.js'
import { afterThisTest, openTestEngine, tempDir } from './workspace.js'

export const PROJECT = 'weather'
const root = path.resolve(import.meta.dirname, '..', '..')

export interface TeamFixture {
  dbUrl: string
  objectsDir: string
  db: Db
  /** Tokens by user: ana and bob are maintainers, mo a member, vic a viewer. */
  tokens: Record<'ana' | 'bob' | 'mo' | 'vic', string>
  tokenIds: Record<'ana' | 'bob' | 'mo' | 'vic', string>
  url: () => string
}

/** A fresh team database with project `weather` and four users; the server is started separately. */
export async function teamDatabase(cluster: PgCluster): Promise<Omit<TeamFixture, 'url'>> {
  const dbUrl = await cluster.createDatabase()
  const objectsDir = tempDir('lathe-team-objects-')
  const db = await openDb(dbUrl)
  afterThisTest(() => db.end())
  await initTeamServer(db, objectsDir)
  const actor = cliActor()
  await addProject(db, actor, PROJECT)
  const roles = { ana: 'maintainer', bob: 'maintainer', mo: 'member', vic: 'viewer' } as const
  const tokens = {} as TeamFixture['tokens']
  const tokenIds = {} as TeamFixture['tokenIds']
  for (const [name, role] of Object.entries(roles) as Array<[keyof typeof roles, (typeof roles)[keyof typeof roles]]>) {
    await addUser(db, actor, name, role, PROJECT)
    const { token, summary } = await createToken(db, actor, name, null)
    tokens[name] = token
    tokenIds[name] = summary.id
  }
  return { dbUrl, objectsDir, db, tokens, tokenIds }
}

/** The team server in this process, on a free loopback port. */
export async function startTeamInProcess(cluster: PgCluster): Promise<TeamFixture> {
  const base = await teamDatabase(cluster)
  const server = await createTeamServer({ db: base.db, objectsDir: base.objectsDir, logLevel: 'silent' })
  const url = await server.listen('127.0.0.1', 0)
  afterThisTest(() => server.close())
  return { ...base, url: () => url }
}

export interface TeamProcess {
  child: ChildProcess
  url: string
  kill(signal?: NodeJS.Signals): Promise<void>
}

/** A real `lathe team-server start` process on a free port. */
export async function spawnTeamServer(fixture: Omit<TeamFixture, 'url'>, port = 0): Promise<TeamProcess> {
  const child = spawn(
    process.execPath,
    [
      path.join(root, 'bin', 'lathe.mjs'),
      'team-server',
      'start',
      '--db',
      fixture.dbUrl,
      '--objects',
      fixture.objectsDir,
      '--port',
      String(port),
      '--json',
      '--log-level',
      'error',
    ],
    { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, VITEST: undefined, NODE_OPTIONS: undefined } },
  )
  let stderr = ''
  child.stderr!.on('data', (c) => (stderr += c))
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  // `--json` prints one JSON document, maybe over several lines.
  const first = await new Promise<{ url: string }>((resolve, reject) => {
    const lines = readline.createInterface({ input: child.stdout! })
    let text = ''
    lines.on('line', (line) => {
      text += line
      try {
        resolve(JSON.parse(text))
      } catch {
        // Not whole yet.
      }
    })
    child.once('exit', (code) => reject(new Error(`lathe team-server exited ${code}: ${stderr}`)))
  })
  const proc: TeamProcess = {
    child,
    url: first.url,
    async kill(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal)
      await exited
    },
  }
  afterThisTest(() => proc.kill('SIGKILL'))
  return proc
}

/** A workspace (an engine on its own folder) connected to the team project as `user`. */
export async function teammate(fixture: TeamFixture, user: keyof TeamFixture['tokens'], dir = tempDir('lathe-ws-')): Promise<Engine> {
  const engine = openTestEngine(dir)
  await engine.call('sync.connect', { url: fixture.url(), token: fixture.tokens[user], project: PROJECT })
  return engine
}

export function connectionFileMode(dir: string): number {
  return fs.statSync(path.join(dir, 'team.json')).mode & 0o777
}

export const count = async (db: Pool, sql: string, args: unknown[] = []) => Number((await db.query(sql, args)).rows[0].n)
const n = count

/** Runs, metric segments, a dataset version and model versions: what a member makes in a day. */
export async function dayOfWork(engine: Engine, runs: number, steps = 1200): Promise<void> {
  const d = await engine.call('data.import', { name: 'penguins', path: penguinsJson })
  for (let i = 0; i < runs; i++) recordRun(engine, { dataset: { name: 'penguins', version: d.version, versionId: d.versionId }, steps })
  await engine.call('registry.versions.import', { file: irisOnnx, name: 'iris' })
}

/** Syncs until both sides agree, tolerating the faults under test; at most `tries` times. */
export async function syncUntilAgreed(engine: Engine, tries = 12): Promise<{ attempts: number; errors: string[] }> {
  const errors: string[] = []
  for (let attempt = 1; attempt <= tries; attempt++) {
    try {
      const r = await engine.call('sync.run', {})
      if (r.agreed) return { attempts: attempt, errors }
      errors.push(r.left.join('; '))
    } catch (error) {
      errors.push((error as Error).message)
    }
  }
  throw new Error(`no agreement after ${tries} syncs: ${errors.join(' | ')}`)
}

export async function expectNoDuplicates(team: Pick<TeamFixture, 'db'>, engine: Engine): Promise<void> {
  const db = engine.context.workspace.db
  const local = (sql: string) => db.prepare(sql).pluck().get() as number
  expect(await n(team.db, `SELECT count(*) AS n FROM sync_records WHERE kind = 'run'`)).toBe(local('SELECT count(*) FROM training_runs'))
  expect(await n(team.db, `SELECT coalesce(sum(points), 0) AS n FROM sync_segments`)).toBe(local('SELECT count(*) FROM training_metrics'))
  expect(await n(team.db, `SELECT count(*) AS n FROM sync_records WHERE kind = 'model_version'`)).toBe(local('SELECT count(*) FROM registry_versions'))
  expect(await n(team.db, `SELECT count(*) AS n FROM sync_records WHERE kind = 'dataset_version'`)).toBe(local('SELECT count(*) FROM dataset_versions'))
  expect(await n(team.db, `SELECT count(*) AS n FROM sync_records WHERE kind = 'audit'`)).toBe(local('SELECT count(*) FROM audit_log'))
  // No op half-applied: a claimed op id always carries its final answer.
  expect(await n(team.db, `SELECT count(*) AS n FROM sync_applied_ops WHERE outcome = 'pending'`)).toBe(0)
  expect((await engine.call('sync.status', { verify: true })).verified).toEqual({ agreed: true, differences: [] })
}
