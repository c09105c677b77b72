import { Command, InvalidArgumentError } from 'commander'
import { LatheError } from '../engine/api/common/errors.js'
import { parseModelRef, type ModelRef } from '../engine/api/common/model-ref.js'

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

/** A `<model>` argument or `--model` value: M, M@alias or M@version, read by the one parser (malformed: a usage error). */
export function modelRefArgument(value: string): ModelRef {
  try {
    return parseModelRef(value)
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message)
  }
}

/** The alias or version a command acts on: from M@V or from --version (both only when they agree), else the default. */
export function selectorOf(ref: ModelRef, versionOption: string | undefined, fallback = 'production'): string {
  if (ref.selector !== undefined && versionOption !== undefined && versionOption !== ref.selector) {
    throw new LatheError('bad_request', `${ref.model}@${ref.selector} and --version ${versionOption} disagree: give the version once`, { field: 'version' })
  }
  return ref.selector ?? versionOption ?? fallback
}

/** A command about the model as a whole (its feedback, history, gates) refuses M@V rather than ignore the version. */
export function wholeModel(ref: ModelRef, what: string): string {
  if (ref.selector !== undefined) {
    throw new LatheError('bad_request', `${what} is about the model as a whole: give "${ref.model}", not "${ref.model}@${ref.selector}"`, { field: 'model' })
  }
  return ref.model
}
