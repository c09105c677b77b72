#!/usr/bin/env node
// Keeps better-sqlite3 built for the runtime about to load it: `node` (tests, the
// CLI, `lathe ui`) or `electron` (`npm start`, `npm run dev`, `npm run dist`).
//
//   node scripts/native-abi.mjs node|electron
//
// better-sqlite3 is a classic Node addon: its binary is tied to one ABI
// (NODE_MODULE_VERSION), and Electron's differs from Node's. @duckdb/node-api and
// onnxruntime-node are N-API addons, so one build loads in both and they are never
// touched here.
//
// Switching is cheap after the first time: each build is kept in
// node_modules/.cache/lathe-native/ and copied back, so `npm test` after `npm start`
// does not compile anything and needs no network. `.native-abi` (gitignored) records
// the last target; the binary itself is the truth (its `node_register_module_v<ABI>`
// symbol), so a stamp that lies (someone ran `npm rebuild` by hand) is corrected.

import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const MODULE = 'better-sqlite3'
const root = path.resolve(process.env.LATHE_NATIVE_ROOT ?? path.join(path.dirname(fileURLToPath(import.meta.url)), '..'))
const moduleDir = path.join(root, 'node_modules', MODULE)
const binary = path.join(moduleDir, 'build', 'Release', 'better_sqlite3.node')
const stampFile = path.join(root, '.native-abi')

const target = process.argv[2]
if (target !== 'node' && target !== 'electron') {
  process.stderr.write('usage: node scripts/native-abi.mjs node|electron\n')
  process.exit(2)
}

function readJson(file) {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'))
  } catch {
    return null
  }
}

function fail(message) {
  process.stderr.write(`native-abi: ${message}\n`)
  process.exit(1)
}

/** The ABI a classic addon was built for, read from the symbol Node looks up when it loads it. */
function abiOf(file) {
  let bytes
  try {
    bytes = fs.readFileSync(file)
  } catch {
    return null
  }
  const match = /node_register_module_v(\d+)/.exec(bytes.toString('latin1'))
  return match ? Number(match[1]) : null
}

const moduleVersion = readJson(path.join(moduleDir, 'package.json'))?.version
if (!moduleVersion) fail(`${moduleDir} is missing: run "npm install" first`)

const electronPackage = readJson(path.join(root, 'node_modules', 'electron', 'package.json'))
const electronVersion = electronPackage?.version ?? null
const electronAbi = (() => {
  try {
    return Number(fs.readFileSync(path.join(root, 'node_modules', 'electron', 'abi_version'), 'utf8').trim()) || null
  } catch {
    return null
  }
})()
if (target === 'electron' && (!electronVersion || !electronAbi)) {
  fail('the electron package is not installed (node_modules/electron): run "npm install" first')
}

const wanted =
  target === 'node'
    ? { target, abi: Number(process.versions.modules), runtime: `node ${process.version}` }
    : { target, abi: electronAbi, runtime: `electron ${electronVersion}` }
const label = `${MODULE}@${moduleVersion}`
const cacheDir = (abi) => path.join(root, 'node_modules', '.cache', 'lathe-native', label, `abi${abi}-${process.platform}-${process.arch}`)
const cached = (abi) => path.join(cacheDir(abi), path.basename(binary))

function writeStamp() {
  fs.writeFileSync(stampFile, `${JSON.stringify({ ...wanted, module: label, at: new Date().toISOString() })}\n`)
}

/** Copies via a staging file and a rename, so a crash never leaves half a binary. */
function copyInto(from, to) {
  fs.mkdirSync(path.dirname(to), { recursive: true })
  const staging = `${to}.${process.pid}.tmp`
  fs.copyFileSync(from, staging)
  fs.renameSync(staging, to)
}

function keepCurrentBuild() {
  const abi = abiOf(binary)
  if (abi !== null) copyInto(binary, cached(abi))
  return abi
}

const stamp = readJson(stampFile)
const currentAbi = abiOf(binary)

if (currentAbi === wanted.abi) {
  if (stamp?.abi !== wanted.abi || stamp?.module !== label) writeStamp()
  if (!fs.existsSync(cached(wanted.abi))) copyInto(binary, cached(wanted.abi))
  process.stdout.write(`native-abi: ${label} is already built for ${wanted.runtime} (ABI ${wanted.abi}); nothing to rebuild\n`)
  process.exit(0)
}

const previousAbi = keepCurrentBuild()
const from = previousAbi === null ? 'no build' : `ABI ${previousAbi}`

if (abiOf(cached(wanted.abi)) === wanted.abi) {
  copyInto(cached(wanted.abi), binary)
  writeStamp()
  process.stdout.write(`native-abi: switched ${label} from ${from} to ${wanted.runtime} (ABI ${wanted.abi}) from the cache\n`)
  process.exit(0)
}

process.stdout.write(`native-abi: rebuilding ${label} for ${wanted.runtime} (ABI ${wanted.abi}; it has ${from})...\n`)
/** @electron/rebuild's CLI, run with this Node (no shell, no .bin shim): the project's copy, else the one beside this script. */
function electronRebuildCli() {
  const scriptRoot = path.join(path.dirname(fileURLToPath(import.meta.url)), '..')
  for (const base of [root, scriptRoot]) {
    const dir = path.join(base, 'node_modules', '@electron', 'rebuild')
    const bin = readJson(path.join(dir, 'package.json'))?.bin
    const cli = typeof bin === 'string' ? bin : bin?.['electron-rebuild']
    if (cli && fs.existsSync(path.join(dir, cli))) return path.join(dir, cli)
  }
  fail('@electron/rebuild is not installed (a devDependency): run "npm install" first')
}

const env = { ...process.env }
let result
if (target === 'electron') {
  // An npm `nodedir` (set in some npmrc files for offline Node builds) would make
  // node-gyp compile against Node's headers instead of Electron's, and the result
  // would fail to load in Electron. Electron's headers come from --dist-url.
  for (const key of Object.keys(env)) if (key.toLowerCase() === 'npm_config_nodedir') delete env[key]
  result = spawnSync(process.execPath, [electronRebuildCli(), '-f', '-o', MODULE, '-v', electronVersion, '-m', root], {
    cwd: root,
    env,
    stdio: 'inherit',
  })
} else {
  result = spawnSync(process.platform === 'win32' ? 'npm.cmd' : 'npm', ['rebuild', MODULE], {
    cwd: root,
    env,
    stdio: 'inherit',
    shell: process.platform === 'win32',
  })
}

const builtAbi = abiOf(binary)
if (result.status === 0 && builtAbi === wanted.abi) {
  copyInto(binary, cached(wanted.abi))
  writeStamp()
  process.stdout.write(`native-abi: ${label} is built for ${wanted.runtime} (ABI ${wanted.abi})\n`)
  process.exit(0)
}

// Put the previous build back, so a failed switch leaves a working install for the other runtime.
if (previousAbi !== null && fs.existsSync(cached(previousAbi))) copyInto(cached(previousAbi), binary)
const why =
  result.error?.message ?? (result.status === 0 ? `the build finished but the binary is for ABI ${builtAbi ?? 'unknown'}` : `exit code ${result.status}`)
const offline =
  target === 'electron'
    ? [
        `@electron/rebuild compiles ${MODULE} against Electron ${electronVersion}'s headers, which it downloads`,
        'from https://www.electronjs.org/headers into ~/.electron-gyp. Without that network, any one of:',
        '  - point it at a mirror of those headers: ELECTRON_REBUILD_DIST_URL=<mirror url> npm start',
        `  - copy ~/.electron-gyp/${electronVersion}/ from a machine where this worked (then run again)`,
        `  - copy a ${MODULE} ${moduleVersion} binary built for Electron ${electronVersion} (${process.platform}-${process.arch}) to`,
        `    ${cached(wanted.abi)}`,
        '    and run again: it is used as is',
        'A compiler toolchain (python3, make, a C++ compiler) is needed for the first two.',
      ]
    : [
        `npm rebuild ${MODULE} downloads a prebuilt binary or compiles one against Node's headers.`,
        'Offline: set npm_config_nodedir to a folder with Node headers (e.g. /usr on Debian with nodejs-dev),',
        `or copy a ${MODULE} ${moduleVersion} binary built for Node ABI ${wanted.abi} to ${cached(wanted.abi)} and run again.`,
      ]
fail(
  [
    `could not rebuild ${label} for ${wanted.runtime}: ${why}.`,
    previousAbi === null ? 'There was no previous build to put back.' : `The previous build (ABI ${previousAbi}) was put back.`,
    ...offline,
  ].join('\n'),
)
