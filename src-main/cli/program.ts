import { Command, InvalidArgumentError } from 'commander'

/** Every command takes --workspace and --json, before or after its own arguments. */
export function common(command: Command): Command {
  return command
    .option('-w, --workspace <dir>', 'workspace folder (default: $LATHE_WORKSPACE or the OS user-data folder)')
    .option('--json', 'print machine-readable JSON')
}

export function parsePort(value: string): number {
  const port = Number(value)
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new InvalidArgumentError(`"${value}" is not a port number`)
  return port
}

export function parsePositiveInt(value: string): number {
  const n = Number(value)
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError(`"${value}" is not a positive whole number`)
  return n
}

export function parseNumber(value: string): number {
  const n = Number(value)
  if (!Number.isFinite(n)) throw new InvalidArgumentError(`"${value}" is not a number`)
  return n
}
