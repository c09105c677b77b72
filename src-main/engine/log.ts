import fs from 'node:fs'
import path from 'node:path'
import { workspaceFiles } from './workspace/index.js'

/** Unexpected errors go to `lathe.log` in the workspace, with their stack; people get its path. */
export class EngineLog {
  readonly file: string

  constructor(workspaceDir: string) {
    this.file = path.join(workspaceDir, workspaceFiles.log)
  }

  write(level: 'info' | 'warn' | 'error', message: string, error?: unknown): void {
    const stack = error instanceof Error ? `\n${error.stack}` : error === undefined ? '' : `\n${String(error)}`
    try {
      fs.appendFileSync(this.file, `${new Date().toISOString()} ${level} [pid ${process.pid}] ${message}${stack}\n`)
    } catch (writeError) {
      // The log is the last resort; if even it fails, stderr still gets the message.
      process.stderr.write(`lathe: could not write ${this.file}: ${(writeError as Error).message}\n${message}${stack}\n`)
    }
  }

  internalError(context: string, error: unknown): string {
    this.write('error', context, error)
    return `internal error, see log at ${this.file}`
  }
}
