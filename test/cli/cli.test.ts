import fs from 'node:fs'
import path from 'node:path'
import type { Command } from 'commander'
import { describe, expect, it, vi } from 'vitest'
import { buildProgram, main } from '../../src-main/cli/index.js'
import { readLock } from '../../src-main/engine/workspace/lock.js'
import { tempDir } from '../helpers/workspace.js'
import { cleanEnv, lathe, latheLines, startLatheUi } from './run-lathe.js'

/** Every command path in the program: ['doctor'], ['data', 'import'], ... */
function commandPaths(command: Command, prefix: string[] = []): string[][] {
  return command.commands.flatMap((sub) => {
    const here = [...prefix, sub.name()]
    return [here, ...commandPaths(sub, here)]
  })
}

describe('lathe --help', () => {
  it('exits 0 and prints usage for the program and, spawned, for doctor and ui', async () => {
    for (const args of [['--help'], ['doctor', '--help'], ['ui', '--help']]) {
      const result = await lathe(args)
      expect(result.code, `lathe ${args.join(' ')}: ${result.stderr}`).toBe(0)
      expect(result.stdout).toMatch(/^Usage: lathe/)
    }
    const top = await lathe(['--help'])
    expect(top.stdout).toMatch(/\bdoctor\b/)
    expect(top.stdout).toMatch(/\bui\b/)
  })

  it('exits 0 with usage on every command of the program', async () => {
    const paths = commandPaths(buildProgram())
    expect(paths.map((p) => p.join(' '))).toEqual(expect.arrayContaining(['doctor', 'ui']))
    const out = vi.spyOn(process.stdout, 'write').mockImplementation(() => true)
    try {
      for (const commandPath of paths) {
        out.mockClear()
        const code = await main(['node', 'lathe', ...commandPath, '--help'])
        const printed = out.mock.calls.map((c) => String(c[0])).join('')
        expect(code, `lathe ${commandPath.join(' ')} --help`).toBe(0)
        expect(printed, `lathe ${commandPath.join(' ')} --help`).toContain(`Usage: lathe ${commandPath.join(' ')}`)
      }
    } finally {
      out.mockRestore()
    }
  })
})

describe('lathe exit codes', () => {
  it('exits 2 on a usage error: an unknown command, option or a malformed value', async () => {
    for (const args of [['no-such-command'], ['doctor', '--no-such-option'], ['ui', '--port', 'seventy']]) {
      const result = await lathe(args)
      expect(result.code, `lathe ${args.join(' ')}`).toBe(2)
      expect(result.stderr).toMatch(/error/)
    }
  })

  it('exits 1 on a user error with one line on stderr naming the problem', async () => {
    const file = path.join(tempDir(), 'a-file-not-a-folder')
    fs.writeFileSync(file, 'x')
    const result = await lathe(['doctor', '--workspace', file])
    expect(result.code).toBe(1)
    expect(result.stderr.trim().split('\n')).toEqual([`lathe: workspace ${file} is not a folder`])
    expect(result.stdout).toBe('')
  })
})

describe('an internal error in a CLI command', () => {
  it('exits 1 with one line pointing at the workspace log, which holds the stack', async () => {
    const workspace = tempDir()
    // An object-store entry that points nowhere: a failure that is no user's mistake.
    const broken = path.join(workspace, 'objects', 'sha256', '00', 'f'.repeat(62))
    fs.mkdirSync(path.dirname(broken), { recursive: true })
    fs.symlinkSync(path.join(workspace, 'nowhere'), broken)
    const result = await lathe(['doctor', '--workspace', workspace])
    expect(result.code).toBe(1)
    const log = path.join(workspace, 'lathe.log')
    expect(latheLines(result.stderr)).toEqual([expect.stringMatching(new RegExp(`^lathe: internal error \\(.*ENOENT.*\\), see log at ${log}$`))])
    expect(fs.readFileSync(log, 'utf8')).toMatch(/ENOENT[\s\S]*\n\s+at /)
  })
})

describe('lathe doctor', () => {
  it('--json prints node, workspace and the five backends, wasm chosen', async () => {
    const workspace = tempDir()
    const result = await lathe(['doctor', '--json', '--workspace', workspace])
    expect(result.code, result.stderr).toBe(0)
    const report = JSON.parse(result.stdout)
    expect(report.node).toBe(process.version)
    expect(report.workspace.dir).toBe(workspace)
    expect(report.backends.map((b: { name: string }) => b.name)).toEqual(['tfjs-node-gpu', 'webgpu', 'tfjs-node', 'wasm', 'cpu'])
    for (const backend of report.backends) {
      expect(backend).toEqual(expect.objectContaining({ name: expect.any(String), available: expect.any(Boolean), chosen: expect.any(Boolean) }))
      // Every backend that is not available says why.
      if (!backend.available) expect(backend.reason).toMatch(/^(module not installed|load error|no device)/)
      else expect(backend.reason).toBeNull()
    }
    expect(report.backends.filter((b: { chosen: boolean }) => b.chosen).map((b: { name: string }) => b.name)).toEqual(['wasm'])
    // The command closed the workspace it opened.
    expect(fs.existsSync(path.join(workspace, 'lathe.lock'))).toBe(false)
  })

  it('prints a human table without --json', async () => {
    const result = await lathe(['doctor', '--workspace', tempDir()])
    expect(result.code, result.stderr).toBe(0)
    expect(result.stdout).toMatch(/Compute backends/)
    expect(result.stdout).toMatch(/^wasm\s+yes\s+\*/m)
  })
})

describe('which workspace', () => {
  it('LATHE_WORKSPACE chooses it, and --workspace wins over LATHE_WORKSPACE', async () => {
    const fromEnv = tempDir()
    const fromFlag = tempDir()
    const byEnv = await lathe(['doctor', '--json'], { env: cleanEnv({ LATHE_WORKSPACE: fromEnv }) })
    expect(byEnv.code, byEnv.stderr).toBe(0)
    expect(JSON.parse(byEnv.stdout).workspace.dir).toBe(fromEnv)
    const byFlag = await lathe(['doctor', '--json', '--workspace', fromFlag], { env: cleanEnv({ LATHE_WORKSPACE: fromEnv }) })
    expect(JSON.parse(byFlag.stdout).workspace.dir).toBe(fromFlag)
  })

  it('defaults to ~/.local/share/lathe (here a made-up HOME)', async () => {
    const home = tempDir('lathe-home-')
    const result = await lathe(['doctor', '--json'], { env: cleanEnv({ HOME: home, XDG_DATA_HOME: undefined }) })
    expect(result.code, result.stderr).toBe(0)
    expect(JSON.parse(result.stdout).workspace.dir).toBe(path.join(home, '.local', 'share', 'lathe'))
    expect(fs.existsSync(path.join(home, '.local', 'share', 'lathe', 'lathe.db'))).toBe(true)
  })
})

describe('lathe ui (headless)', () => {
  it('refuses a second engine on the same workspace: exit 1, "workspace is in use by PID n"', async () => {
    const workspace = tempDir()
    const first = await startLatheUi(workspace)
    const second = await lathe(['ui', '--port', '0', '--workspace', workspace])
    expect(second.code).toBe(1)
    expect(latheLines(second.stderr)).toEqual([expect.stringContaining(`workspace is in use by PID ${first.child.pid}`)])
    expect(readLock(workspace)?.pid).toBe(first.child.pid)
  })

  it("sends a CLI command to the running engine; the lock stays the ui's", async () => {
    const workspace = tempDir()
    const ui = await startLatheUi(workspace)
    const lockBefore = readLock(workspace)
    const result = await lathe(['doctor', '--json', '--workspace', workspace])
    expect(result.code, result.stderr).toBe(0)
    const report = JSON.parse(result.stdout)
    // The engine that answered is the ui's process, reached over its API.
    expect(report.workspace.pid).toBe(ui.child.pid)
    expect(report.system.pid).toBe(ui.child.pid)
    expect(report.workspace.apiUrl).toBe(ui.url)
    expect(readLock(workspace)).toEqual(lockBefore)
  })

  it('answers 401 to an API call without the token', async () => {
    const ui = await startLatheUi(tempDir())
    const response = await fetch(`${ui.url}/api/v1/system.info`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } })
    expect(response.status).toBe(401)
    const withToken = await fetch(`${ui.url}/api/v1/system.info`, {
      method: 'POST',
      body: '{}',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${ui.token}` },
    })
    expect(withToken.status).toBe(200)
  })

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`stops on ${signal}: workspace closed, lock and token removed`, async () => {
      const workspace = tempDir()
      const ui = await startLatheUi(workspace)
      expect(fs.existsSync(path.join(workspace, 'engine.token'))).toBe(true)
      ui.child.kill(signal)
      const { code, signal: killedBy, stderr } = await ui.exited
      expect({ code, killedBy, said: latheLines(stderr) }).toEqual({ code: 0, killedBy: null, said: [`lathe: ${signal}, closing the workspace...`] })
      expect(fs.existsSync(path.join(workspace, 'lathe.lock'))).toBe(false)
      expect(fs.existsSync(path.join(workspace, 'engine.token'))).toBe(false)
      // The WAL was checkpointed into lathe.db on close.
      const wal = path.join(workspace, 'lathe.db-wal')
      expect(!fs.existsSync(wal) || fs.statSync(wal).size === 0).toBe(true)
      // And the workspace opens again at once.
      const again = await lathe(['doctor', '--json', '--workspace', workspace])
      expect(again.code, again.stderr).toBe(0)
    })
  }
})
