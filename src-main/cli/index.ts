import { Command, CommanderError } from 'commander'
import { appVersion } from '../engine/system/versions.js'
import { registerDataCommands } from './commands/data.js'
import { registerDemoCommands } from './commands/demo.js'
import { registerMlflowCommands } from './commands/mlflow.js'
import { registerMonitoringCommands } from './commands/monitoring.js'
import { registerPipelineCommands } from './commands/pipelines.js'
import { registerRegistryCommands } from './commands/registry.js'
import { registerServingCommands } from './commands/serving.js'
import { registerSystemCommands } from './commands/system.js'
import { registerTeamCommands } from './commands/team.js'
import { registerTeamServerCommands } from './commands/team-server.js'
import { registerTrainingCommands } from './commands/training.js'
import { reportError } from './output.js'

/** Exit codes: 0 success, 1 a user error (one line on stderr), 2 a usage error. */
export function buildProgram(): Command {
  const program = new Command('lathe')
    .description('Lathe: a local-first MLOps workbench (data, training, registry, serving, monitoring)')
    .version(appVersion())
    // The program's own options (--version) count only before the command, so a command's
    // option of the same name (`lathe drift M --version 2`) reaches that command.
    .enablePositionalOptions()
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
  registerSystemCommands(program)
  registerDataCommands(program)
  registerTrainingCommands(program)
  registerRegistryCommands(program)
  registerServingCommands(program)
  registerMonitoringCommands(program)
  registerPipelineCommands(program)
  registerMlflowCommands(program)
  registerDemoCommands(program)
  registerTeamServerCommands(program)
  registerTeamCommands(program)
  // Subcommands inherit exitOverride so usage errors reach the handler below.
  const applyOverride = (cmd: Command) => {
    cmd.exitOverride()
    cmd.commands.forEach(applyOverride)
  }
  applyOverride(program)
  return program
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram()
  try {
    await program.parseAsync(argv)
    return 0
  } catch (error) {
    if (error instanceof CommanderError) {
      if (['commander.helpDisplayed', 'commander.version', 'commander.help'].includes(error.code)) return 0
      return 2
    }
    return reportError(error)
  }
}

const invokedDirectly = process.argv[1] && /(lathe(\.mjs)?|cli[\\/]index\.ts|cli\.js)$/.test(process.argv[1])
if (invokedDirectly) {
  main(process.argv).then(
    (code) => {
      process.exitCode = code
    },
    (error) => {
      process.exitCode = reportError(error)
    },
  )
}
