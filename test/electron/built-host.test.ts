import { spawn } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import readline from 'node:readline'
import { describe, expect, it } from 'vitest'
import type { HostMessage } from '../../src-main/electron/host-protocol.js'
import { needBuilt } from '../helpers/needs.js'
import { afterThisTest, tempDir } from '../helpers/workspace.js'

/**
 * The built `out/main/host.js`, the file Electron main forks, started in a plain
 * Node process with Electron's `process.parentPort` played over stdin/stdout. It
 * proves the bundle loads (its external native modules resolve, the entry starts
 * itself) and exits on `stop`, which the unit tests of the source cannot.
 */
const root = path.resolve(import.meta.dirname, '..', '..')
const builtHost = path.join(root, 'out', 'main', 'host.js')

// A stand-in for Electron's parentPort: messages to main go to stdout as JSON lines,
// lines on stdin come back as messages from main.
const parentPortShim = `
import readline from 'node:readline'
const listeners = []
process.parentPort = {
  postMessage: (message) => process.stdout.write(JSON.stringify(message) + '\\n'),
  on: (event, listener) => { if (event === 'message') listeners.push(listener) },
}
readline.createInterface({ input: process.stdin }).on('line', (line) => listeners.forEach((l) => l({ data: JSON.parse(line) })))
await import(${JSON.stringify(builtHost)})
`

describe('the built engine host', () => {
  it('starts from out/main/host.js, reports ready and exits 0 on stop', async () => {
    needBuilt('out/main/host.js')
    const workspace = tempDir()
    const child = spawn(process.execPath, ['--input-type=module', '-e', parentPortShim], {
      cwd: root,
      env: { ...process.env, LATHE_WORKSPACE: workspace, LATHE_PARENT_PID: String(process.pid) },
      stdio: ['pipe', 'pipe', 'pipe'],
    })
    let stderr = ''
    child.stderr.on('data', (chunk) => (stderr += chunk))
    afterThisTest(() => {
      if (child.exitCode === null) child.kill()
    })
    const messages: HostMessage[] = []
    const lines = readline.createInterface({ input: child.stdout })
    const next = () =>
      new Promise<HostMessage>((resolve, reject) => {
        lines.once('line', (line) => {
          messages.push(JSON.parse(line) as HostMessage)
          resolve(messages.at(-1)!)
        })
        child.once('exit', (code) => reject(new Error(`host exited with ${code}: ${stderr}`)))
      })

    const ready = await next()
    expect(ready).toMatchObject({ type: 'ready', workspace })
    if (ready.type !== 'ready') throw new Error('unreachable')
    const info = await fetch(`${ready.url}/api/v1/workspace.info`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ready.token}`, 'content-type': 'application/json' },
      body: '{}',
    })
    expect(info.status).toBe(200)

    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve))
    child.stdin.write(`${JSON.stringify({ type: 'stop' })}\n`)
    expect(await next()).toEqual({ type: 'stopped' })
    expect(await exited).toBe(0)
    expect(fs.existsSync(path.join(workspace, 'lathe.lock'))).toBe(false)
  })
})
