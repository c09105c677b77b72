import { execFileSync } from 'node:child_process'
import { describe, expect, it } from 'vitest'
import path from 'node:path'
import { pgBinDir, usePostgres } from '../helpers/postgres.js'
import { lathe } from '../cli/run-lathe.js'
import { revokeToken } from '../../src-main/team/accounts.js'
import { verifyAudit } from '../../src-main/team/audit.js'
import { openDb } from '../../src-main/team/db.js'
import { cliActor } from '../../src-main/team/init.js'
import { migrate } from '../../src-main/team/migrate.js'
import { allMigrations } from '../../src-main/team/modules.js'
import { startTeam, superuser } from './harness.js'

const pg = usePostgres()

describe('lathe team-server init and tokens', () => {
  it('init prints the admin token once and never stores it in clear', async () => {
    const dbUrl = await pg.cluster().createDatabase()
    const objects = `${pg.cluster().dir}/objects-init`
    const first = await lathe(['team-server', 'init', '--db', dbUrl, '--objects', objects, '--json'])
    expect(first.code, first.stderr).toBe(0)
    const result = JSON.parse(first.stdout)
    const token: string = result.admin.token
    expect(token).toMatch(/^lathe_[A-Za-z0-9_-]{43}$/)
    // The core migrations, then each module's (sync's 010): every one the server knows, in order.
    expect(result.schema.applied).toEqual(
      [...allMigrations()].sort((a, b) => a.version - b.version).map((m) => `${String(m.version).padStart(3, '0')}-${m.name}`),
    )
    expect(result.schema.applied.slice(0, 3)).toEqual(['001-accounts', '002-audit', '003-uploads'])

    const again = await lathe(['team-server', 'init', '--db', dbUrl, '--objects', objects, '--json'])
    expect(again.code, again.stderr).toBe(0)
    expect(JSON.parse(again.stdout).admin).toBeNull()
    expect(again.stdout).not.toContain(token)

    // Nothing in the whole database holds the token itself; its SHA-256 is what is kept.
    const dump = execFileSync(path.join(pgBinDir, 'pg_dump'), ['--data-only', dbUrl], { encoding: 'utf8' })
    expect(dump).not.toContain(token)
    expect(dump).not.toContain(token.slice(6))
    const { createHash } = await import('node:crypto')
    expect(dump).toContain(createHash('sha256').update(token).digest('hex'))

    const list = await lathe(['team-server', 'tokens', 'list', '--db', dbUrl, '--json'])
    expect(JSON.parse(list.stdout)).toMatchObject([{ user: 'admin', state: 'active', expiresAt: null }])
    expect(list.stdout).not.toContain(token)
  })

  it('a revoked token is refused on the very next request', async () => {
    const team = await startTeam(pg.cluster())
    const token = await team.userToken('alice', 'member')
    expect((await team.call(token, 'GET', '/admin/v1/whoami')).body).toMatchObject({ user: 'alice', projects: { weather: 'member' } })
    const { body: mine } = await team.call(token, 'GET', '/admin/v1/tokens')
    expect(mine).toHaveLength(1)

    await revokeToken(team.db, cliActor(), mine[0].id)
    const after = await team.call(token, 'GET', '/admin/v1/whoami')
    expect(after.status).toBe(401)
    expect(after.body.error).toMatchObject({ code: 'unauthorized' })
    expect(after.body.error.message).toContain('revoked')
    const audit = await team.call(team.adminToken, 'GET', '/admin/v1/audit')
    expect(audit.body.at(-1)).toMatchObject({ userName: 'alice', outcome: 'refused', detail: JSON.stringify({ reason: 'token revoked' }) })
  })

  it('an expired token is refused with 401', async () => {
    const team = await startTeam(pg.cluster())
    const created = await team.call(team.adminToken, 'POST', '/admin/v1/tokens', { user: 'admin', expires: '1m' })
    expect(created.status).toBe(201)
    expect((await team.call(created.body.token, 'GET', '/admin/v1/whoami')).status).toBe(200)
    // Move its expiry into the past, as the passing of a minute would.
    const su = await superuser(team.dbUrl)
    await su.query("UPDATE tokens SET expires_at = now() - interval '1 second' WHERE id = $1", [created.body.id])
    const after = await team.call(created.body.token, 'GET', '/admin/v1/whoami')
    expect(after.status).toBe(401)
    expect(after.body.error.message).toContain('expiry')
    const bad = await team.call(team.adminToken, 'POST', '/admin/v1/tokens', { user: 'admin', expires: 'soon' })
    expect(bad.status).toBe(400)
    expect(bad.body.error).toMatchObject({ code: 'bad_request', field: 'expires' })
    expect((await team.call('lathe_not-a-token', 'GET', '/admin/v1/whoami')).status).toBe(401)
  })

  it('roles: a member cannot administer, is 403 and changes nothing; the actor is the token user', async () => {
    const team = await startTeam(pg.cluster())
    const member = await team.userToken('bob', 'member')
    const refused = await team.call(member, 'POST', '/admin/v1/users', { name: 'mallory', role: 'admin' })
    expect(refused.status).toBe(403)
    expect(refused.body.error.code).toBe('forbidden')
    const users = await team.call(team.adminToken, 'GET', '/admin/v1/users')
    expect(users.body.map((u: { name: string }) => u.name)).toEqual(['admin', 'bob'])

    const added = await team.call(team.adminToken, 'POST', '/admin/v1/users', { name: 'carol', role: 'viewer', project: 'weather' })
    expect(added.status).toBe(201)
    const dup = await team.call(team.adminToken, 'POST', '/admin/v1/users', { name: 'carol', role: 'viewer' })
    expect(dup.status).toBe(409)
    const badRole = await team.call(team.adminToken, 'POST', '/admin/v1/users', { name: 'dave', role: 'owner' })
    expect(badRole.status).toBe(400)
    expect(badRole.body.error.field).toBe('role')
    const noProject = await team.call(team.adminToken, 'POST', '/admin/v1/users', { name: 'erin', role: 'viewer', project: 'nope' })
    expect(noProject.status).toBe(404)

    const audit = (await team.call(team.adminToken, 'GET', '/admin/v1/audit')).body as Array<Record<string, unknown>>
    expect(audit.find((r) => r.action === 'user.add' && r.target === 'carol')).toMatchObject({ userName: 'admin', outcome: 'accepted' })
    expect(audit.find((r) => r.action === 'user.add' && r.outcome === 'refused')).toMatchObject({ userName: 'bob' })
    const notJson = await fetch(`${team.url}/admin/v1/projects`, {
      method: 'POST',
      headers: { authorization: `Bearer ${team.adminToken}`, 'content-type': 'application/json' },
      body: '{"name": ',
    })
    expect(notJson.status).toBe(400)
    expect(((await notJson.json()) as any).error.code).toBe('bad_request')
  })
})

describe('audit log', () => {
  it('verify-audit names an edited row and a deleted row', async () => {
    const team = await startTeam(pg.cluster())
    await team.userToken('alice', 'member')
    await team.userToken('bob', 'viewer')
    const clean = await verifyAudit(team.db)
    expect(clean).toMatchObject({ ok: true, problems: [] })
    expect(clean.rows).toBeGreaterThanOrEqual(6)

    const su = await superuser(team.dbUrl)
    await expect(su.query("UPDATE audit_log SET user_name = 'x' WHERE seq = 1")).rejects.toThrow(/append-only/)

    await su.query('ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only')
    const original3 = (await su.query('SELECT target FROM audit_log WHERE seq = 3')).rows[0].target
    await su.query("UPDATE audit_log SET target = 'mallory' WHERE seq = 3")
    const edited = await lathe(['team-server', 'verify-audit', '--db', team.dbUrl])
    expect(edited.code).toBe(1)
    expect(edited.stdout).toContain('row 3: row 3 was edited')
    expect(edited.stderr).toContain('first at row 3')
    await su.query('UPDATE audit_log SET target = $1 WHERE seq = 3', [original3])
    expect((await verifyAudit(team.db)).ok).toBe(true)

    // An editor who also recomputes the row's own hash still breaks the next row's link.
    const { auditRowSha256 } = await import('../../src-main/team/audit.js')
    const row = (await su.query('SELECT * FROM audit_log WHERE seq = 2')).rows[0]
    const forged = {
      seq: 2,
      serverTime: row.server_time.toISOString(),
      userId: row.user_id,
      userName: row.user_name,
      clientId: row.client_id,
      clientTime: row.client_time,
      project: row.project,
      action: row.action,
      outcome: row.outcome,
      target: 'mallory',
      detail: row.detail,
      prevSha256: row.prev_sha256,
    }
    await su.query('UPDATE audit_log SET target = $1, row_sha256 = $2 WHERE seq = 2', ['mallory', auditRowSha256(forged)])
    const rewritten = await verifyAudit(team.db)
    expect(rewritten.ok).toBe(false)
    expect(rewritten.problems).toEqual([expect.objectContaining({ seq: 3, message: expect.stringContaining('row 2') })])

    const restore = { ...forged, target: row.target }
    await su.query('UPDATE audit_log SET target = $1, row_sha256 = $2 WHERE seq = 2', [row.target, auditRowSha256(restore)])
    expect((await verifyAudit(team.db)).ok).toBe(true)

    await su.query('DELETE FROM audit_log WHERE seq = 4')
    const deleted = await verifyAudit(team.db)
    expect(deleted.problems).toEqual([expect.objectContaining({ seq: 4, kind: 'deleted' })])

    const last = clean.lastSeq
    await su.query('DELETE FROM audit_log WHERE seq = $1', [last])
    const trimmed = await verifyAudit(team.db)
    expect(trimmed.problems).toContainEqual(expect.objectContaining({ seq: last, kind: 'trimmed' }))
  })
})

describe('schema migrations', () => {
  it('refuse a database whose schema is newer than this lathe', async () => {
    const team = await startTeam(pg.cluster())
    const su = await superuser(team.dbUrl)
    await su.query("INSERT INTO team_schema (version, name) VALUES (999, 'from-the-future')")
    const db = await openDb(team.dbUrl)
    try {
      await expect(migrate(db, allMigrations())).rejects.toThrow(
        new RegExp(`schema version 999, newer than this lathe knows \\(${allMigrations().at(-1)!.version}\\)`),
      )
    } finally {
      await db.end()
    }
    const start = await lathe(['team-server', 'start', '--db', team.dbUrl, '--objects', `${team.objectsDir}-other`, '--port', '0'])
    expect(start.code).toBe(1)
    expect(start.stderr).toContain('newer than this lathe')
  })

  it('start refuses to serve plain HTTP beyond loopback', async () => {
    const r = await lathe(['team-server', 'start', '--db', 'postgresql://nobody@127.0.0.1:1/x', '--objects', '/tmp/x', '--host', '0.0.0.0'])
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('--tls-cert')
    expect(r.stderr).toContain('reverse proxy')
  })
})

describe('TLS', () => {
  it('serves HTTPS with a certificate and key', async () => {
    const { createTeamServer } = await import('../../src-main/team/server.js')
    const { initTeamServer } = await import('../../src-main/team/init.js')
    const fs = await import('node:fs')
    const https = await import('node:https')
    const dir = fs.mkdtempSync(`${pg.cluster().dir}/tls-`)
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
        '-days',
        '1',
        '-keyout',
        `${dir}/key.pem`,
        '-out',
        `${dir}/cert.pem`,
      ],
      { stdio: 'ignore' },
    )
    const db = await openDb(await pg.cluster().createDatabase())
    const init = await initTeamServer(db, `${dir}/objects`)
    const server = await createTeamServer({ db, objectsDir: `${dir}/objects`, logLevel: 'silent', tls: { cert: `${dir}/cert.pem`, key: `${dir}/key.pem` } })
    try {
      const url = await server.listen('127.0.0.1', 0)
      expect(url).toMatch(/^https:\/\//)
      const ca = fs.readFileSync(`${dir}/cert.pem`)
      const body = await new Promise<string>((resolve, reject) => {
        https
          .get(`${url}/admin/v1/whoami`, { ca, headers: { authorization: `Bearer ${init.admin!.token}` } }, (res) => {
            let text = ''
            res.on('data', (c) => (text += c))
            res.on('end', () => resolve(text))
          })
          .on('error', reject)
      })
      expect(JSON.parse(body)).toMatchObject({ user: 'admin', role: 'admin' })
    } finally {
      await server.close()
      await db.end()
    }
  })
})
