import type { Command } from 'commander'
import { runDemo } from '../demo/scenario.js'
import { ProgressLine, emit } from '../output.js'
import { common, parsePort, parsePositiveInt } from '../program.js'
import { withClient, workspaceDirOf, type CommonOptions } from '../session.js'

export function registerDemoCommands(program: Command): void {
  common(
    program
      .command('demo')
      .description(
        'The whole lifecycle on the bundled Seattle weather data: import, validate, train, register, gate, serve, replay traffic, drift, alert, retrain',
      ),
  )
    .option('--port <port>', 'port for the serving endpoint during the demo (0: any free port)', parsePort, 0)
    .option('--epochs <n>', 'training epochs', parsePositiveInt, 60)
    .action(async (options: CommonOptions & { port: number; epochs: number }) => {
      const line = new ProgressLine()
      const say = (text: string) => {
        line.done()
        if (!options.json) process.stdout.write(`${text}\n`)
      }
      const started = Date.now()
      const summary = await withClient(options, 'lathe demo', (client) =>
        runDemo(client, { servingPort: options.port, epochs: options.epochs, say, progress: (t) => (t ? line.update(t) : line.done()) }),
      )
      const seconds = (Date.now() - started) / 1000
      const workspace = workspaceDirOf(options)
      const uiCommand = `npx lathe ui${options.workspace ? ` --workspace ${workspace}` : ''}`
      emit(options.json, { ...summary, seconds, ui: { command: uiCommand, url: 'http://127.0.0.1:7070' } }, () =>
        [
          '',
          `Done in ${seconds.toFixed(1)} s. Everything above is in the workspace ${workspace}.`,
          `Look at it in the UI: ${uiCommand}   then open the URL it prints (http://127.0.0.1:7070/#token=...)`,
        ].join('\n'),
      )
    })
}
