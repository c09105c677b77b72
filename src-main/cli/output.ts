import { isLatheError } from '../engine/api/common/errors.js'

/** Prints a result: JSON when asked, else the human form. */
export function emit<T>(json: boolean | undefined, value: T, human: (value: T) => string): void {
  process.stdout.write(json ? `${JSON.stringify(value, null, 2)}\n` : `${human(value)}\n`)
}

/** A plain text table: columns padded to their widest cell. */
export function table(headers: string[], rows: Array<Array<string | number | null | undefined>>): string {
  const cells = [headers, ...rows.map((r) => r.map((c) => (c === null || c === undefined ? '' : String(c))))]
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)))
  return cells
    .map((r) =>
      r
        .map((c, i) => (c ?? '').padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n')
}

/** A command that has said what went wrong itself and ends with this exit code. */
export class CommandExit extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`)
  }
}

/** User errors: one line on stderr, exit 1. Anything else: the stack, exit 1 too. */
export function reportError(error: unknown): number {
  if (error instanceof CommandExit) return error.code
  if (isLatheError(error)) {
    const where = error.line !== undefined ? ` (line ${error.line})` : ''
    process.stderr.write(`lathe: ${error.message}${where}\n`)
    return 1
  }
  const loggedAt = (error as { loggedAt?: string } | null)?.loggedAt
  if (loggedAt && !process.env.LATHE_DEBUG) {
    process.stderr.write(`lathe: internal error (${(error as Error).message.split('\n')[0]}), see log at ${loggedAt}\n`)
    return 1
  }
  process.stderr.write(`lathe: internal error: ${(error as Error)?.stack ?? String(error)}\n`)
  return 1
}

/** A progress line that rewrites itself on a terminal and prints plain lines elsewhere. */
export class ProgressLine {
  private last = ''
  private lastPrinted = 0
  constructor(private readonly stream: NodeJS.WriteStream = process.stderr) {}

  update(text: string): void {
    if (text === this.last) return
    this.last = text
    if (this.stream.isTTY) {
      this.stream.write(`\r\x1b[2K${text}`)
    } else if (Date.now() - this.lastPrinted > 1000) {
      this.lastPrinted = Date.now()
      this.stream.write(`${text}\n`)
    }
  }

  done(text?: string): void {
    if (this.stream.isTTY && this.last) this.stream.write('\r\x1b[2K')
    if (text) this.stream.write(`${text}\n`)
    this.last = ''
  }
}
