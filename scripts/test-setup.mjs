#!/usr/bin/env node
// The first step of `npm test`: makes sure this machine has what the tests need, so a
// run never fails halfway with a missing browser, interpreter or database.
//
//   node scripts/test-setup.mjs [--check]
//
// Needed (Debian/Ubuntu package names): Chromium for the end-to-end and page tests,
// Debian's Python with the peers' packages (PyTorch, scikit-learn, SciPy, pandas,
// FastAPI + uvicorn, onnx) that tests and `npm run bench` compare against, wrk for the
// serving benchmark, and PostgreSQL, whose binaries (/usr/lib/postgresql/*/bin) the
// team-server tests start a throwaway cluster from.
//
// With dpkg, each package is checked with `dpkg -s` (an installed machine does no apt
// work). What is missing is installed with apt-get when this process is root or sudo
// works without a password; otherwise it stops at once with the one line to run. With
// --check it never installs. Without dpkg (not Debian/Ubuntu) it probes for the programs
// and Python modules themselves and says what is missing.

import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'

const PACKAGES = [
  'chromium',
  'python3',
  'python3-torch',
  'python3-sklearn',
  'python3-scipy',
  'python3-pandas',
  'python3-fastapi',
  'python3-uvicorn',
  'python3-onnx',
  'wrk',
  'postgresql',
]

const PYTHON = '/usr/bin/python3'
const PYTHON_MODULES = ['torch', 'sklearn', 'scipy', 'pandas', 'fastapi', 'uvicorn', 'onnx']
const chromium = process.env.LATHE_CHROMIUM ?? '/usr/bin/chromium'
const checkOnly = process.argv.includes('--check')

function say(line) {
  process.stdout.write(`[test-setup] ${line}\n`)
}

function fail(lines) {
  for (const line of lines) process.stderr.write(`[test-setup] ${line}\n`)
  process.exit(1)
}

function runs(command, args, options = {}) {
  const result = spawnSync(command, args, { stdio: 'ignore', ...options })
  return result.status === 0
}

function onPath(program) {
  return runs('sh', ['-c', 'command -v "$0"', program])
}

function postgresBin() {
  const base = '/usr/lib/postgresql'
  if (!fs.existsSync(base)) return null
  for (const version of fs.readdirSync(base).sort().reverse()) {
    const bin = path.join(base, version, 'bin')
    if (fs.existsSync(path.join(bin, 'initdb')) && fs.existsSync(path.join(bin, 'postgres'))) return bin
  }
  return null
}

/** What is still absent once the packages are in: the things the tests actually call. */
function probe() {
  const absent = []
  if (!fs.existsSync(chromium)) absent.push(`Chromium at ${chromium} (set LATHE_CHROMIUM to another path)`)
  const imports = `import ${PYTHON_MODULES.join(', ')}`
  if (!fs.existsSync(PYTHON)) absent.push(`${PYTHON}`)
  else if (!runs(PYTHON, ['-c', imports])) absent.push(`Python modules for ${PYTHON} (${PYTHON_MODULES.join(', ')})`)
  if (!onPath('wrk')) absent.push('wrk')
  if (!postgresBin()) absent.push('PostgreSQL server binaries (/usr/lib/postgresql/*/bin/initdb and postgres)')
  return absent
}

if (!onPath('dpkg')) {
  const absent = probe()
  if (absent.length === 0) {
    say('not a dpkg system; everything the tests need was found')
    process.exit(0)
  }
  fail([
    'this is not Debian/Ubuntu (no dpkg), and the tests need what is missing here:',
    ...absent.map((a) => `  - ${a}`),
    `install the equivalents of: ${PACKAGES.join(' ')}`,
  ])
}

const missing = PACKAGES.filter((p) => !runs('dpkg', ['-s', p]))
const installLine = `sudo apt-get update && sudo apt-get install -y --no-install-recommends ${missing.join(' ')}`

if (missing.length > 0) {
  const root = process.getuid?.() === 0
  const sudo = !root && runs('sudo', ['-n', 'true'])
  if (checkOnly || (!root && !sudo)) {
    fail([
      `missing Debian packages the tests need: ${missing.join(' ')}`,
      `${checkOnly ? '' : 'not root and sudo needs a password, so nothing was installed. '}Run:`,
      `  ${installLine}`,
      'then run the tests again.',
    ])
  }
  const prefix = root ? [] : ['sudo', '-n']
  const apt = (args) => {
    const [command, ...rest] = [...prefix, 'apt-get', ...args]
    const result = spawnSync(command, rest, {
      stdio: 'inherit',
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    })
    if (result.status !== 0) {
      fail([`apt-get ${args.join(' ')} failed (exit ${result.status ?? result.signal}). Run it yourself:`, `  ${installLine}`])
    }
  }
  say(`installing ${missing.join(' ')}`)
  apt(['update'])
  apt(['install', '-y', '--no-install-recommends', ...missing])
} else {
  say(`all ${PACKAGES.length} packages installed (${PACKAGES.join(' ')})`)
}

const absent = probe()
if (absent.length > 0) {
  fail([
    'the packages are installed, but the tests still cannot find:',
    ...absent.map((a) => `  - ${a}`),
    'On Ubuntu, Chromium is a snap: install it and set LATHE_CHROMIUM to its binary.',
  ])
}
