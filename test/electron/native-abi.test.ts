import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { tempDir } from '../helpers/workspace.js'

/**
 * scripts/native-abi.mjs on a copy of the project's own better-sqlite3 (never on
 * the checkout's node_modules, which other processes are using).
 */
const repo = path.resolve(import.meta.dirname, '..', '..')
const script = path.join(repo, 'scripts', 'native-abi.mjs')
const realModule = path.join(repo, 'node_modules', 'better-sqlite3')
const electronAbi = Number(fs.readFileSync(path.join(repo, 'node_modules', 'electron', 'abi_version'), 'utf8'))
const electronVersion = JSON.parse(fs.readFileSync(path.join(repo, 'node_modules', 'electron', 'package.json'), 'utf8')).version as string
const moduleVersion = JSON.parse(fs.readFileSync(path.join(realModule, 'package.json'), 'utf8')).version as string
const nodeAbi = Number(process.versions.modules)

/** A project folder holding better-sqlite3 as installed here (sources and the Node build) and Electron's package.json. */
function project(): string {
  const root = tempDir('lathe-native-')
  fs.writeFileSync(path.join(root, 'package.json'), JSON.stringify({ name: 'p', version: '1.0.0', dependencies: { 'better-sqlite3': moduleVersion } }))
  fs.cpSync(realModule, path.join(root, 'node_modules', 'better-sqlite3'), {
    recursive: true,
    // The package and its finished addon; SQLite's sources (deps/) and the build's object
    // files are not needed: no test here gets as far as compiling.
    filter: (src) => !/[\\/]better-sqlite3[\\/]deps([\\/]|$)|[\\/]build[\\/]Release[\\/](obj|obj\.target|\.deps)([\\/]|$)|\.a$/.test(src),
  })
  const electronDir = path.join(root, 'node_modules', 'electron')
  fs.mkdirSync(electronDir, { recursive: true })
  fs.copyFileSync(path.join(repo, 'node_modules', 'electron', 'package.json'), path.join(electronDir, 'package.json'))
  fs.writeFileSync(path.join(electronDir, 'abi_version'), String(electronAbi))
  return root
}

function run(root: string, target: string, env: NodeJS.ProcessEnv = {}) {
  const result = spawnSync(process.execPath, [script, target], { env: { ...process.env, LATHE_NATIVE_ROOT: root, ...env }, encoding: 'utf8' })
  return { status: result.status, out: result.stdout + result.stderr }
}

const binaryOf = (root: string) => path.join(root, 'node_modules', 'better-sqlite3', 'build', 'Release', 'better_sqlite3.node')
const cacheOf = (root: string, abi: number) =>
  path.join(
    root,
    'node_modules',
    '.cache',
    'lathe-native',
    `better-sqlite3@${moduleVersion}`,
    `abi${abi}-${process.platform}-${process.arch}`,
    'better_sqlite3.node',
  )
/** Buffer.equals: a deep toEqual over a multi-megabyte addon is slow. */
const sameBytes = (file: string, bytes: Buffer) => fs.readFileSync(file).equals(bytes)
const stampOf = (root: string) => JSON.parse(fs.readFileSync(path.join(root, '.native-abi'), 'utf8'))

function loadsInNode(root: string): boolean {
  const check = `const D = require(${JSON.stringify(path.join(root, 'node_modules', 'better-sqlite3'))}); process.exit(new D(':memory:', { nativeBinding: ${JSON.stringify(binaryOf(root))} }).prepare('select 41 + 1 as x').get().x === 42 ? 0 : 1)`
  return spawnSync(process.execPath, ['-e', check]).status === 0
}

async function closedPort(): Promise<number> {
  const server = net.createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as net.AddressInfo).port
  await new Promise((resolve) => server.close(resolve))
  return port
}

describe('scripts/native-abi.mjs', () => {
  it('on a fresh clone built for Node, records the stamp and rebuilds nothing', () => {
    const root = project()
    const before = fs.statSync(binaryOf(root)).mtimeMs
    const { status, out } = run(root, 'node')
    expect(status).toBe(0)
    expect(out).toContain(`already built for node ${process.version} (ABI ${nodeAbi}); nothing to rebuild`)
    expect(stampOf(root)).toMatchObject({ target: 'node', abi: nodeAbi, module: `better-sqlite3@${moduleVersion}` })
    expect(fs.statSync(binaryOf(root)).mtimeMs).toBe(before)
    expect(loadsInNode(root)).toBe(true)
  })

  it('switches between Node and Electron builds from its cache, without compiling', () => {
    const root = project()
    const nodeBuild = fs.readFileSync(binaryOf(root))
    // Stands in for an Electron build made earlier on this machine: what matters to the
    // switch is the ABI the binary declares, which is what the script reads.
    const electronBuild = Buffer.from(`\x7fELF...node_register_module_v${electronAbi}...`, 'latin1')
    fs.mkdirSync(path.dirname(cacheOf(root, electronAbi)), { recursive: true })
    fs.writeFileSync(cacheOf(root, electronAbi), electronBuild)

    const toElectron = run(root, 'electron')
    expect(toElectron.status).toBe(0)
    expect(toElectron.out).toContain(
      `switched better-sqlite3@${moduleVersion} from ABI ${nodeAbi} to electron ${electronVersion} (ABI ${electronAbi}) from the cache`,
    )
    expect(sameBytes(binaryOf(root), electronBuild)).toBe(true)
    expect(stampOf(root)).toMatchObject({ target: 'electron', abi: electronAbi })
    expect(loadsInNode(root)).toBe(false)

    const back = run(root, 'node')
    expect(back.status).toBe(0)
    expect(back.out).toContain('from the cache')
    expect(sameBytes(binaryOf(root), nodeBuild)).toBe(true)
    expect(stampOf(root)).toMatchObject({ target: 'node', abi: nodeAbi })
    expect(loadsInNode(root)).toBe(true)
  })

  it('trusts the binary over a stamp that lies', () => {
    const root = project()
    fs.writeFileSync(path.join(root, '.native-abi'), JSON.stringify({ target: 'electron', abi: electronAbi }))
    const { status, out } = run(root, 'node')
    expect(status).toBe(0)
    expect(out).toContain('nothing to rebuild')
    expect(stampOf(root)).toMatchObject({ target: 'node', abi: nodeAbi })
  })

  it('when Electron headers cannot be downloaded, says what to do offline and puts the Node build back', async () => {
    const root = project()
    const nodeBuild = fs.readFileSync(binaryOf(root))
    const { status, out } = run(root, 'electron', {
      // Nothing listens there, and an empty HOME has no ~/.electron-gyp header cache: the download fails at once.
      ELECTRON_REBUILD_DIST_URL: `http://127.0.0.1:${await closedPort()}`,
      HOME: tempDir('lathe-home-'),
      npm_config_nodedir: '/usr',
    })
    expect(status).toBe(1)
    expect(out).toContain(`could not rebuild better-sqlite3@${moduleVersion} for electron ${electronVersion}`)
    expect(out).toContain(`The previous build (ABI ${nodeAbi}) was put back.`)
    expect(out).toContain('ELECTRON_REBUILD_DIST_URL=<mirror url>')
    expect(out).toContain(cacheOf(root, electronAbi))
    expect(sameBytes(binaryOf(root), nodeBuild)).toBe(true)
    expect(loadsInNode(root)).toBe(true)
    // A failed switch records nothing: the next run tries again.
    expect(fs.existsSync(path.join(root, '.native-abi'))).toBe(false)
  })

  it('refuses an unknown target with exit code 2', () => {
    const { status, out } = run(project(), 'wasm')
    expect(status).toBe(2)
    expect(out).toContain('usage: node scripts/native-abi.mjs node|electron')
  })
})
