import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import path from 'node:path'
import readline from 'node:readline'
import { afterThisTest } from '../helpers/workspace.js'

export const root = path.resolve(import.meta.dirname, '..', '..')
const bin = path.join(root, 'bin', 'lathe.mjs')

export interface LatheResult {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

/**
 * The environment a user's shell would give `lathe`, minus anything that points at a
 * real workspace, so no test ever opens the real home folder's workspace.
 */
export function cleanEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env }
  delete env.LATHE_WORKSPACE
  delete env.VITEST
  delete env.VITEST_POOL_ID
  delete env.VITEST_WORKER_ID
  delete env.NODE_OPTIONS
  return { ...env, ...extra }
}

/** Runs `node bin/lathe.mjs ARGS` to completion, as a user in a terminal would. */
export function lathe(args: string[], options: { env?: NodeJS.ProcessEnv } = {}): Promise<LatheResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { cwd: root, env: options.env ?? cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk) => (stdout += chunk))
    child.stderr.on('data', (chunk) => (stderr += chunk))
    child.on('error', reject)
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }))
  })
}

/** The lines of stderr that are Lathe's own (TensorFlow.js prints its banners there too). */
export function latheLines(stderr: string): string[] {
  return stderr.split('\n').filter((line) => line.startsWith('lathe:'))
}

/** Runs `node bin/lathe.mjs ARGS` to completion synchronously (for tests that read one result after another). */
export function latheSync(
  args: string[],
  options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd: root, env: options.env ?? cleanEnv(), encoding: 'utf8', timeout: options.timeoutMs ?? 120_000 })
  return { code: r.status, stdout: r.stdout, stderr: r.stderr }
}

export interface RunningLathe {
  child: ChildProcess
  /** The first line it printed on stdout, parsed: the `--json` status of `lathe ui` or `lathe serve`. */
  first: any
  /** Resolves with the exit code and stderr once the process has ended. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>
}

/**
 * Starts a long-running `lathe ARGS` (`ui` or `serve` with `--json`) and waits for its
 * first stdout line; after the test it is sent `stop` (SIGKILL unless said otherwise;
 * SIGTERM lets it shut down as a user's Ctrl-C would) and waited for.
 */
export async function startLathe(args: string[], options: { env?: NodeJS.ProcessEnv; stop?: NodeJS.Signals } = {}): Promise<RunningLathe> {
  const child = spawn(process.execPath, [bin, ...args], { cwd: root, env: options.env ?? cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] })
  let stderr = ''
  child.stderr!.on('data', (chunk) => (stderr += chunk))
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, stderr })),
  )
  afterThisTest(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill(options.stop ?? 'SIGKILL')
    await exited
  })
  const line = await Promise.race([
    new Promise<string>((resolve) => readline.createInterface({ input: child.stdout! }).once('line', resolve)),
    exited.then(({ code }) => {
      throw new Error(`lathe ${args[0]} exited with ${code} before it was ready: ${stderr}`)
    }),
  ])
  return { child, first: JSON.parse(line), exited }
}

export interface RunningUi {
  child: ChildProcess
  url: string
  token: string
  workspace: string
  /** Resolves with the exit code and stderr once the process has ended. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>
}

/** Starts `lathe ui --port 0 --json` on a workspace and waits for its first line; killed after the test. */
export async function startLatheUi(workspace: string, env: NodeJS.ProcessEnv = cleanEnv()): Promise<RunningUi> {
  const { child, first, exited } = await startLathe(['ui', '--port', '0', '--json', '--workspace', workspace], { env })
  return { child, url: first.url, token: first.token, workspace, exited }
}
