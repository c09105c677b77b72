import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import pg from 'pg'
import { afterThisTest } from '../helpers/workspace.js'
import type { PgCluster } from '../helpers/postgres.js'
import { createToken, addProject, addUser, type Role } from '../../src-main/team/accounts.js'
import { openDb, type Db } from '../../src-main/team/db.js'
import { cliActor, initTeamServer } from '../../src-main/team/init.js'
import { createTeamServer } from '../../src-main/team/server.js'
import type { TeamContext } from '../../src-main/team/context.js'

export interface TeamUnderTest {
  url: string
  dbUrl: string
  db: Db
  objectsDir: string
  adminToken: string
  ctx: TeamContext
  /** A user with a role in a project (created when missing) and a fresh token. */
  userToken(name: string, role: Role, project?: string | null): Promise<string>
  call(token: string, method: string, route: string, body?: unknown): Promise<{ status: number; body: any; headers: Headers }>
  close(): Promise<void>
}

/** A fresh database and objects folder, initialized, and a team server on 127.0.0.1, closed after the test. */
export async function startTeam(cluster: PgCluster, options: { uploadTtlMs?: number } = {}): Promise<TeamUnderTest> {
  const dbUrl = await cluster.createDatabase()
  const objectsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lathe-team-objects-'))
  const db = await openDb(dbUrl)
  const init = await initTeamServer(db, objectsDir)
  const server = await createTeamServer({ db, objectsDir, logLevel: 'silent', uploadTtlMs: options.uploadTtlMs })
  const url = await server.listen('127.0.0.1', 0)
  const projects = new Set<string>()
  const users = new Set<string>()
  let closed = false
  const team: TeamUnderTest = {
    url,
    dbUrl,
    db,
    objectsDir,
    adminToken: init.admin!.token,
    ctx: server.ctx,
    async userToken(name, role, project = 'weather') {
      if (project && !projects.has(project)) {
        await addProject(db, cliActor(), project).catch(() => {})
        projects.add(project)
      }
      if (!users.has(name)) {
        await addUser(db, cliActor(), name, role, project)
        users.add(name)
      }
      return (await createToken(db, cliActor(), name, null)).token
    },
    async call(token, method, route, body) {
      const response = await fetch(`${url}${route}`, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        body: body === undefined ? undefined : JSON.stringify(body),
      })
      const text = await response.text()
      return { status: response.status, body: text ? JSON.parse(text) : null, headers: response.headers }
    },
    async close() {
      if (closed) return
      closed = true
      await server.close()
      await db.end()
      fs.rmSync(objectsDir, { recursive: true, force: true })
    },
  }
  afterThisTest(() => team.close())
  return team
}

/** Every file under a folder, relative to it. */
export function filesUnder(dir: string): string[] {
  if (!fs.existsSync(dir)) return []
  return fs.readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)))
}

/** A superuser connection for the test to tamper with what the server wrote. */
export async function superuser(dbUrl: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: dbUrl })
  await client.connect()
  afterThisTest(() => client.end())
  return client
}
