import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { tempDir } from '../helpers/workspace.js'

/**
 * scripts/test-setup.mjs, the first step of `npm test`, with dpkg, apt-get and sudo
 * replaced on the PATH by scripts that report a package as missing and record what they
 * were asked: the real ones are never run (the machine's packages are not touched). The
 * probe after the check is real (Chromium, Python's modules, wrk, PostgreSQL here).
 */
const script = path.resolve(import.meta.dirname, '..', '..', 'scripts', 'test-setup.mjs')
const root = process.getuid?.() === 0

function fakeTools(missing: string[], sudoWorks: boolean): { bin: string; log: string } {
  const bin = tempDir('lathe-setup-bin-')
  fs.chmodSync(bin, 0o755)
  const log = path.join(bin, 'calls.log')
  fs.writeFileSync(log, '')
  fs.chmodSync(log, 0o666)
  const write = (name: string, body: string) => fs.writeFileSync(path.join(bin, name), `#!/bin/sh\n${body}\n`, { mode: 0o755 })
  write('dpkg', `case " ${missing.join(' ')} " in *" $2 "*) exit 1;; esac\nexit 0`)
  write('apt-get', `echo "apt-get $*" >> ${log}\nexit 0`)
  write('sudo', sudoWorks ? `[ "$1" = -n ] && shift\n"$@"` : 'exit 1')
  return { bin, log }
}

function setup(bin: string, args: string[] = [], asUser = false) {
  const result = spawnSync(process.execPath, [script, ...args], {
    encoding: 'utf8',
    env: { ...process.env, PATH: `${bin}:${process.env.PATH}` },
    // Not root: run as nobody where this test is root, as the caller otherwise.
    ...(asUser && root ? { uid: 65534, gid: 65534, cwd: '/' } : {}),
  })
  return { code: result.status, out: result.stdout, err: result.stderr }
}

describe('scripts/test-setup.mjs', () => {
  it('does no apt work when every package is installed', () => {
    const { bin, log } = fakeTools([], false)
    const r = setup(bin)
    expect(r.err).toBe('')
    expect(r.code).toBe(0)
    expect(r.out).toMatch(/all 11 packages installed \(chromium .* postgresql\)/)
    expect(fs.readFileSync(log, 'utf8')).toBe('')
  })

  it.skipIf(!root)('as root, installs only what dpkg reports missing (skipped where the test is not root)', () => {
    const { bin, log } = fakeTools(['chromium', 'postgresql'], false)
    const r = setup(bin)
    expect(r.code).toBe(0)
    expect(fs.readFileSync(log, 'utf8').trim().split('\n')).toEqual([
      'apt-get update',
      'apt-get install -y --no-install-recommends chromium postgresql',
    ])
  })

  it('without root and without passwordless sudo, stops at once with the install line and installs nothing', () => {
    const { bin, log } = fakeTools(['chromium', 'python3-scipy'], false)
    const r = setup(bin, [], true)
    expect(r.code).toBe(1)
    expect(r.err).toContain('missing Debian packages the tests need: chromium python3-scipy')
    expect(r.err).toContain('sudo apt-get update && sudo apt-get install -y --no-install-recommends chromium python3-scipy')
    expect(fs.readFileSync(log, 'utf8')).toBe('')
  })

  it('without root but with passwordless sudo, installs through sudo', () => {
    const { bin, log } = fakeTools(['wrk'], true)
    const r = setup(bin, [], true)
    expect(r.err).toBe('')
    expect(r.code).toBe(0)
    expect(fs.readFileSync(log, 'utf8')).toContain('apt-get install -y --no-install-recommends wrk')
  })

  it('--check never installs, and names what to run', () => {
    const { bin, log } = fakeTools(['wrk'], true)
    const r = setup(bin, ['--check'])
    expect(r.code).toBe(1)
    expect(r.err).toContain('sudo apt-get install -y --no-install-recommends wrk')
    expect(fs.readFileSync(log, 'utf8')).toBe('')
  })

  it('stops with the reason when a package is installed but the browser the tests use is not there', () => {
    const { bin } = fakeTools([], false)
    const r = spawnSync(process.execPath, [script], {
      encoding: 'utf8',
      env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, LATHE_CHROMIUM: '/nonexistent/chromium' },
    })
    expect(r.status).toBe(1)
    expect(r.stderr).toContain('Chromium at /nonexistent/chromium')
  })
})
