import fs from 'node:fs'
import type { Command } from 'commander'
import { LatheError } from '../../engine/api/common/errors.js'
import type { Db } from '../../team/index.js'
import { emit, table } from '../output.js'
import { parsePort } from '../program.js'

/** The team server's modules (pg, fastify) load only when a team-server command runs. */
const loadTeam = () => import('../../team/index.js')

interface DbOptions {
  db?: string
  json?: boolean
}

function withDb(command: Command): Command {
  return command
    .option('--db <url>', 'the team database, postgresql://user@host:port/db (default: $LATHE_TEAM_DB)')
    .option('--json', 'print machine-readable JSON')
}

function dbUrl(options: DbOptions): string {
  const url = options.db ?? process.env.LATHE_TEAM_DB
  if (!url) throw new LatheError('bad_request', 'say which database: --db postgresql://user@host:port/db (or set LATHE_TEAM_DB)', { field: 'db' })
  return url
}

function objectsDir(options: { objects?: string }): string {
  const dir = options.objects ?? process.env.LATHE_TEAM_OBJECTS
  if (!dir) throw new LatheError('bad_request', 'say where blobs live: --objects DIR (or set LATHE_TEAM_OBJECTS)', { field: 'objects' })
  return dir
}

async function onDb<T>(options: DbOptions, work: (db: Db) => Promise<T>): Promise<T> {
  const db = await (await loadTeam()).openDb(dbUrl(options))
  try {
    return await work(db)
  } finally {
    await db.end()
  }
}

const roles = (r: Array<{ project: string | null; role: string }>) => r.map((g) => `${g.role}${g.project ? `@${g.project}` : ' (all projects)'}`).join(', ')

export function registerTeamServerCommands(program: Command): void {
  const team = program.command('team-server').description('Run and administer a Lathe team server (PostgreSQL + a blob folder); see docs/team-server.md')

  withDb(team.command('init').description('Create or upgrade the schema; the first time, create the first admin and print their token once'))
    .option('--objects <dir>', 'folder for blobs (default: $LATHE_TEAM_OBJECTS)')
    .option('--admin <name>', 'name of the first admin user', 'admin')
    .action(async (options: DbOptions & { objects?: string; admin: string }) => {
      const t = await loadTeam()
      const result = await onDb(options, (db) => t.initTeamServer(db, objectsDir(options), options.admin))
      emit(options.json, result, (r) => {
        const lines = [`Team database ${t.redact(dbUrl(options))}: schema ${r.schema.from} -> ${r.schema.to}${r.schema.applied.length ? ` (applied ${r.schema.applied.join(', ')})` : ''}`]
        lines.push(`Objects folder: ${r.objectsDir}`)
        if (r.admin) {
          lines.push('', `First admin "${r.admin.user}". Their token, shown this once and stored only as a SHA-256:`, '', `  ${r.admin.token}`, '')
          lines.push('Keep it somewhere safe. Make more with `lathe team-server tokens create USER`.')
        } else {
          lines.push('Already initialized: an admin exists, so no token was made (use `lathe team-server tokens create USER`).')
        }
        return lines.join('\n')
      })
    })

  withDb(team.command('migrate').description('Apply pending schema migrations (after a backup); refuses a schema newer than this lathe')).action(
    async (options: DbOptions) => {
      const t = await loadTeam()
      const result = await onDb(options, (db) => t.migrate(db, t.allMigrations()))
      emit(options.json, result, (r) => (r.applied.length ? `Schema ${r.from} -> ${r.to}: applied ${r.applied.join(', ')}` : `Schema is current (${r.to})`))
    },
  )

  withDb(team.command('start').description('Serve the team server over HTTP(S)'))
    .option('--objects <dir>', 'folder for blobs (default: $LATHE_TEAM_OBJECTS)')
    .option('--host <host>', 'address to bind', '127.0.0.1')
    .option('--port <port>', 'port to listen on', parsePort, 7072)
    .option('--tls-cert <file>', 'PEM certificate (with --tls-key) to serve HTTPS')
    .option('--tls-key <file>', 'PEM private key for --tls-cert')
    .option('--allow-plain-http', 'bind beyond loopback without TLS (only behind a TLS-terminating reverse proxy on a trusted network)')
    .option('--upload-ttl <duration>', 'remove an upload untouched this long', '24h')
    .option('--log-level <level>', 'structured log level on stderr (fatal, error, warn, info, debug)', 'info')
    .action(
      async (
        options: DbOptions & {
          objects?: string
          host: string
          port: number
          tlsCert?: string
          tlsKey?: string
          allowPlainHttp?: boolean
          uploadTtl: string
          logLevel: string
        },
      ) => {
        const t = await loadTeam()
        if (Boolean(options.tlsCert) !== Boolean(options.tlsKey)) {
          throw new LatheError('bad_request', '--tls-cert and --tls-key go together: give both or neither', { field: options.tlsCert ? 'tls-key' : 'tls-cert' })
        }
        for (const file of [options.tlsCert, options.tlsKey]) {
          if (file && !fs.existsSync(file)) throw new LatheError('bad_request', `TLS file ${file} does not exist`, { field: 'tls' })
        }
        const tls = options.tlsCert && options.tlsKey ? { cert: options.tlsCert, key: options.tlsKey } : undefined
        if (!tls && !t.isLoopback(options.host)) {
          if (!options.allowPlainHttp) {
            throw new LatheError(
              'bad_request',
              `binding to ${options.host} without TLS would send bearer tokens in the clear: give --tls-cert and --tls-key, or keep --host 127.0.0.1 behind a reverse proxy that terminates TLS (docs/team-server.md), or pass --allow-plain-http if such a proxy reaches this port over a trusted network`,
              { field: 'host' },
            )
          }
          process.stderr.write(`lathe team-server: WARNING: serving plain HTTP on ${options.host}; tokens cross the network unencrypted unless a TLS proxy is in front\n`)
        }
        const uploadTtlMs = t.parseDuration(options.uploadTtl)
        const db = await (await loadTeam()).openDb(dbUrl(options))
        let server: Awaited<ReturnType<typeof t.createTeamServer>>
        try {
          server = await t.createTeamServer({ db, objectsDir: objectsDir(options), tls, uploadTtlMs, logLevel: options.logLevel })
        } catch (error) {
          await db.end()
          throw error
        }
        const url = await server.listen(options.host, options.port)
        // One line, so a supervisor (or a test) can read the address as soon as it listens.
        process.stdout.write(options.json ? `${JSON.stringify({ url, pid: process.pid })}\n` : `Team server on ${url} (pid ${process.pid}); Ctrl-C stops it\n`)
        await new Promise<void>((resolve) => {
          const stop = () => resolve()
          process.once('SIGINT', stop)
          process.once('SIGTERM', stop)
        })
        await server.close()
        await db.end()
      },
    )

  const projects = team.command('projects').description('Projects on the team server')
  withDb(projects.command('add <name>').description('Add a project')).action(async (name: string, options: DbOptions) => {
    const t = await loadTeam()
    const project = await onDb(options, (db) => t.addProject(db, t.cliActor(), name))
    emit(options.json, project, (p) => `Added project ${p.name}`)
  })
  withDb(projects.command('list').description('List projects')).action(async (options: DbOptions) => {
    const t = await loadTeam()
    const list = await onDb(options, (db) => t.listProjects(db))
    emit(options.json, list, (l) => (l.length ? table(['NAME', 'CREATED'], l.map((p) => [p.name, p.createdAt])) : 'No projects yet'))
  })

  const users = team.command('users').description('Users and their roles')
  withDb(users.command('add <name>').description('Add a user with a role in one project (--project) or in all'))
    .requiredOption('--role <role>', 'viewer (pull), member (push), maintainer (protected aliases, gates) or admin (users, tokens)')
    .option('--project <name>', 'the project the role applies to (default: all projects)')
    .action(async (name: string, options: DbOptions & { role: string; project?: string }) => {
      const t = await loadTeam()
      const role = t.parseRole(options.role)
      const user = await onDb(options, (db) => t.addUser(db, t.cliActor(), name, role, options.project ?? null))
      emit(options.json, user, (u) => `Added user ${u.name}: ${roles(u.roles)}\nGive them a token: lathe team-server tokens create ${u.name}`)
    })
  withDb(users.command('grant <name>').description("Set a user's role in a project (--project) or in all"))
    .requiredOption('--role <role>', 'viewer, member, maintainer or admin')
    .option('--project <name>', 'the project the role applies to (default: all projects)')
    .action(async (name: string, options: DbOptions & { role: string; project?: string }) => {
      const t = await loadTeam()
      const role = t.parseRole(options.role)
      const user = await onDb(options, (db) => t.grantRole(db, t.cliActor(), name, role, options.project ?? null))
      emit(options.json, user, (u) => `${u.name}: ${roles(u.roles)}`)
    })
  withDb(users.command('list').description('List users and roles')).action(async (options: DbOptions) => {
    const t = await loadTeam()
    const list = await onDb(options, (db) => t.listUsers(db))
    emit(options.json, list, (l) => table(['NAME', 'ROLES', 'CREATED'], l.map((u) => [u.name, roles(u.roles), u.createdAt])))
  })

  const tokens = team.command('tokens').description('Bearer tokens (shown once, stored as SHA-256)')
  withDb(tokens.command('create <user>').description('Create a token for a user and print it once'))
    .option('--expires <duration>', 'lifetime such as 90m, 12h, 30d, 2w (default: until revoked)')
    .action(async (user: string, options: DbOptions & { expires?: string }) => {
      const t = await loadTeam()
      const ms = options.expires ? t.parseDuration(options.expires) : null
      const { token, summary } = await onDb(options, (db) => t.createToken(db, t.cliActor(), user, ms))
      emit(options.json, { ...summary, token }, (t) =>
        [`Token ${t.id} for ${t.user}${t.expiresAt ? `, expires ${t.expiresAt}` : ''}. Shown this once:`, '', `  ${t.token}`, ''].join('\n'),
      )
    })
  withDb(tokens.command('list').description('List tokens (never their values)'))
    .option('--user <name>', 'only this user')
    .action(async (options: DbOptions & { user?: string }) => {
      const t = await loadTeam()
      const list = await onDb(options, (db) => t.listTokens(db, options.user))
      emit(options.json, list, (l) =>
        l.length ? table(['ID', 'USER', 'STATE', 'CREATED', 'EXPIRES'], l.map((k) => [k.id, k.user, k.state, k.createdAt, k.expiresAt ?? 'never'])) : 'No tokens',
      )
    })
  withDb(tokens.command('revoke <id>').description('Revoke a token: refused from the next request on')).action(async (id: string, options: DbOptions) => {
    const t = await loadTeam()
    const revoked = await onDb(options, (db) => t.revokeToken(db, t.cliActor(), id))
    emit(options.json, revoked, (s) => `Token ${s.id} of ${s.user} is revoked (since ${s.revokedAt})`)
  })

  withDb(team.command('verify-audit').description('Check the audit chain: names any row edited, inserted or deleted')).action(async (options: DbOptions) => {
    const t = await loadTeam()
    const result = await onDb(options, (db) => t.verifyAudit(db))
    emit(options.json, result, (r) =>
      r.ok ? `Audit log intact: ${r.rows} rows, last ${r.lastSeq}` : [`Audit log TAMPERED (${r.problems.length} problem(s) in ${r.rows} rows):`, ...r.problems.map((p) => `  row ${p.seq}: ${p.message}`)].join('\n'),
    )
    if (!result.ok) throw new LatheError('conflict', `the audit log was changed outside the server: ${result.problems.length} problem(s), first at row ${result.problems[0]!.seq}`)
  })
}
