import type { Command } from 'commander'
import { LatheError } from '../../engine/api/common/errors.js'
import { emit, ProgressLine, table } from '../output.js'
import { common } from '../program.js'
import { withClient, type CommonOptions } from '../session.js'

/** `lathe team connect|status|disconnect` and `lathe sync`: the workspace's side of the team server. */
export function registerTeamCommands(program: Command): void {
  const team = program.command('team').description('Connect this workspace to a team server project; see what sync has left')

  common(team.command('connect <url>').description('Connect to a team server (URL and token are stored in the workspace, readable by you only)'))
    .requiredOption('--token <token>', 'your bearer token (from lathe team-server tokens create)')
    .requiredOption('--project <project>', 'the team project to sync with')
    .action(async (url: string, options: CommonOptions & { token: string; project: string }) => {
      const result = await withClient(options, 'lathe team connect', (client) =>
        client.call('sync.connect', { url, token: options.token, project: options.project }),
      )
      emit(options.json, result, (r) => `connected to ${r.url} as ${r.user}, project ${r.project}; run lathe sync`)
    })

  common(team.command('status').description('Connection, pending operations, last sync, conflicts'))
    .option('--verify', 'compare a digest of both sides')
    .action(async (options: CommonOptions & { verify?: boolean }) => {
      const s = await withClient(options, 'lathe team status', (client) => client.call('sync.status', { verify: options.verify === true }))
      emit(options.json, s, (r) =>
        [
          r.connected ? `connected to ${r.url}, project ${r.project}` : 'not connected (lathe team connect URL --token T --project P)',
          `pending operations: ${r.pending}; last sync: ${r.lastSync ?? 'never'}; pulled up to change ${r.lastPulledSeq}`,
          r.conflicts.length
            ? `conflicts (promote again to decide):\n${table(
                ['model', 'alias', 'tried', 'now', 'moved by', 'at'],
                r.conflicts.map((c) => [
                  c.model,
                  c.alias,
                  c.attempted,
                  c.current?.version ? `v${c.current.version}` : '',
                  c.current?.movedBy,
                  c.current?.movedAt,
                ]),
              )}`
            : 'no conflicts',
          r.verified
            ? r.verified.agreed
              ? 'verified: both sides hold the same records'
              : `verify: differ in ${r.verified.differences.map((d) => `${d.kind} (here ${d.local}, server ${d.server})`).join(', ')}`
            : '',
        ]
          .filter(Boolean)
          .join('\n'),
      )
      if (s.verified && !s.verified.agreed) process.exitCode = 1
    })

  common(team.command('disconnect').description('Forget the team server (the outbox stays for a later connect)')).action(async (options: CommonOptions) => {
    const result = await withClient(options, 'lathe team disconnect', (client) => client.call('sync.disconnect', {}))
    emit(options.json, result, (r) => (r.disconnected ? 'disconnected' : 'was not connected'))
  })

  common(program.command('sync').description('Push the outbox to the team server and pull what teammates pushed; safe to interrupt and re-run'))
    .option('--push-only', 'only push')
    .option('--pull-only', 'only pull')
    .option('--verify', 'also compare a digest of both sides (reads every record on both)')
    .action(async (options: CommonOptions & { pushOnly?: boolean; pullOnly?: boolean; verify?: boolean }) => {
      if (options.pushOnly && options.pullOnly)
        throw new LatheError('bad_request', '--push-only and --pull-only exclude each other: give one or neither', { field: 'push-only' })
      const progress = new ProgressLine()
      const report = await withClient(options, 'lathe sync', async (client) => {
        const stop = client.subscribe(['sync.progress'], (event) => {
          const p = event.payload
          progress.update(`sync: ${p.phase} ${p.done}${p.total !== null ? `/${p.total}` : ''}`)
        })
        try {
          return await client.call('sync.run', { push: !options.pullOnly, pull: !options.pushOnly, verify: options.verify === true })
        } finally {
          stop()
          progress.done()
        }
      })
      emit(options.json, report, (r) =>
        [
          `pushed: ${
            Object.entries(r.pushed)
              .map(([k, n]) => `${n} ${k}`)
              .join(', ') || 'nothing'
          }; pulled: ${r.pulled} change(s)`,
          r.agreed ? 'in sync: both sides hold the same records' : `not in sync yet:\n${r.left.map((l) => `  - ${l}`).join('\n')}`,
        ].join('\n'),
      )
      if (!report.agreed) process.exitCode = 1
    })
}
