import { spawn } from 'node:child_process'
import path from 'node:path'
import type { Command } from 'commander'
import { projectRoot } from '../../engine/system/versions.js'
import { emit, table } from '../output.js'
import { loadEngineHost, withClient, workspaceDirOf, type CommonOptions } from '../session.js'
import { common, parsePort } from '../program.js'

export function registerSystemCommands(program: Command): void {
  common(program.command('doctor').description('Backends, devices, versions and workspace health')).action(async (options: CommonOptions) => {
    const report = await withClient(options, 'lathe doctor', async (client) => {
      const [system, workspace, backends] = await Promise.all([
        client.call('system.info', {}),
        client.call('workspace.info', {}),
        client.call('compute.backends', {}),
      ])
      return { node: system.node, app: system.app, system, workspace, backends }
    })
    emit(options.json, report, (r) =>
      [
        `Lathe ${r.app} on Node ${r.node} (${r.system.platform}/${r.system.arch}, ${r.system.cpus} CPUs)`,
        `workspace  ${r.workspace.dir} (schema ${r.workspace.schemaVersion}, ${r.workspace.objects.count} objects)`,
        '',
        'Compute backends (best first):',
        table(
          ['backend', 'available', 'chosen', 'device', 'reason'],
          r.backends.map((b) => [b.name, b.available ? 'yes' : 'no', b.chosen ? '*' : '', b.device, b.reason]),
        ),
      ].join('\n'),
    )
  })

  common(program.command('ui').description('Run the engine and serve the UI in your browser (headless mode)'))
    .option('--port <port>', 'port for the UI and API', parsePort, 7070)
    .option('--host <host>', 'address to bind', '127.0.0.1')
    .option('--open', 'open the UI in the default browser')
    .action(async (options: CommonOptions & { port: number; host: string; open?: boolean }) => {
      const { startEngineHost, stopOnSignals } = await loadEngineHost()
      const host = await startEngineHost({
        workspaceDir: workspaceDirOf(options),
        holder: 'lathe ui',
        longLived: true,
        port: options.port,
        host: options.host,
        staticDir: path.join(projectRoot(), 'out', 'renderer'),
      })
      // Handlers first: whoever reads the ready line below may signal at once.
      stopOnSignals(host)
      const uiUrl = `${host.api.url}/#token=${host.api.token}`
      if (options.json) {
        process.stdout.write(`${JSON.stringify({ url: host.api.url, token: host.api.token, ui: uiUrl, workspace: host.engine.workspace.dir })}\n`)
      } else {
        process.stdout.write(`Lathe is running on workspace ${host.engine.workspace.dir}\n  open ${uiUrl}\n  (Ctrl-C to stop)\n`)
      }
      if (options.open) openInBrowser(uiUrl)
      await new Promise(() => {})
    })
}

function openInBrowser(url: string): void {
  const command = process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'explorer' : 'xdg-open'
  const child = spawn(command, [url], { detached: true, stdio: 'ignore' })
  child.on('error', () => process.stderr.write(`lathe: could not start ${command}; open the URL yourself\n`))
  child.unref()
}
