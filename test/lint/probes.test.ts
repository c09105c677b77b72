import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { tempDir } from '../helpers/workspace.js'

// Each probe is a miniature repository with one wrong thing in it, checked by the scripts
// `npm run lint` runs (package.json's "lint" runs check-layers, the typecheck and format:check).
const root = path.resolve(import.meta.dirname, '..', '..')
const layers = path.join(root, 'scripts', 'check-layers.mjs')
const format = path.join(root, 'scripts', 'check-format.mjs')

function run(script: string, dir: string) {
  const result = spawnSync(process.execPath, [script, dir], { encoding: 'utf8' })
  return {
    code: result.status,
    problems: result.stderr
      .trim()
      .split('\n')
      .filter((l) => l && !/^check-(layers|format):/.test(l)),
  }
}

/** The same small, well-formed engine every probe starts from, plus the probe's files. */
function repo(files: Record<string, string>): string {
  const dir = tempDir('lathe-lint-')
  const base: Record<string, string> = {
    'package.json': JSON.stringify({ name: 'probe', dependencies: { zod: '1', 'better-sqlite3': '1' } }, null, 2) + '\n',
    'src-main/engine/data/index.ts': `export { getVersionById } from './store.js'\n`,
    'src-main/engine/data/store.ts': `export function getVersionById(id: number) {\n  return id\n}\n`,
    'src-main/engine/training/index.ts': `export const trainingOperations = {}\n`,
    'src-main/engine/registry/lineage.ts': `import { getVersionById } from '../data/index.js'\n\nexport const lineage = (id: number) => getVersionById(id)\n`,
    'src-main/engine/api/common/format.ts': `export const percent = (x: number) => \`\${(x * 100).toFixed(1)}%\`\n`,
    'src-renderer/src/page.tsx': `import { percent } from '../../src-main/engine/api/common/format.js'\n\nexport const label = percent(0.5)\n`,
  }
  for (const [name, text] of Object.entries({ ...base, ...files })) {
    fs.mkdirSync(path.join(dir, path.dirname(name)), { recursive: true })
    fs.writeFileSync(path.join(dir, name), text)
  }
  return dir
}

describe('npm run lint refuses', () => {
  it('nothing in the well-formed probe repository', () => {
    const dir = repo({})
    expect(run(layers, dir)).toEqual({ code: 0, problems: [] })
    expect(run(format, dir)).toEqual({ code: 0, problems: [] })
  })

  it('the renderer importing node:fs', () => {
    const result = run(layers, repo({ 'src-renderer/src/files.ts': `import fs from 'node:fs'\n\nexport const read = fs.readFileSync\n` }))
    expect(result).toEqual({
      code: 1,
      problems: ['src-renderer/src/files.ts:1: the renderer must not import the Node builtin "node:fs": it runs in a browser page'],
    })
  })

  it('better-sqlite3 imported by code the renderer bundles (api/common) and by the renderer itself', () => {
    const result = run(
      layers,
      repo({
        'src-main/engine/api/common/db.ts': `import Database from 'better-sqlite3'\n\nexport const open = () => new Database(':memory:')\n`,
        'src-renderer/src/db.ts': `import type Database from 'better-sqlite3'\nimport sqlite from 'better-sqlite3'\n\nexport type Db = Database.Database\nexport const s = sqlite\n`,
      }),
    )
    expect(result.code).toBe(1)
    expect(result.problems).toEqual([
      expect.stringMatching(
        /^src-main\/engine\/api\/common\/db\.ts:1: api\/common must not import the node-only package "better-sqlite3": the renderer bundles/,
      ),
      // The type-only import on line 1 is erased, so only the value import counts.
      expect.stringMatching(/^src-renderer\/src\/db\.ts:2: the renderer must not import the node-only package "better-sqlite3"/),
    ])
  })

  it('a deep import across capabilities, naming the front door to use', () => {
    const result = run(
      layers,
      repo({ 'src-main/engine/registry/lineage.ts': `import { getVersionById } from '../data/store.js'\n\nexport const lineage = getVersionById\n` }),
    )
    expect(result).toEqual({
      code: 1,
      problems: [
        'src-main/engine/registry/lineage.ts:1: deep import into data: "../data/store.js" is internal to it; ' +
          'import from its front door "src-main/engine/data/index.ts" (export what you need there)',
      ],
    })
  })

  it('an import against the dependency table, even through the front door and even type-only', () => {
    const result = run(
      layers,
      repo({
        'src-main/engine/data/train.ts': `import { trainingOperations } from '../training/index.js'\n\nexport const ops = trainingOperations\n`,
        'src-main/engine/workspace/run.ts': `import type { lineage } from '../registry/lineage.js'\n\nexport type L = typeof lineage\n`,
      }),
    )
    expect(result.code).toBe(1)
    expect(result.problems).toEqual([
      expect.stringMatching(
        /^src-main\/engine\/data\/train\.ts:1: data must not import training \("\.\.\/training\/index\.js"\): the dependency table .* lets data import common, workspace, kernel, system/,
      ),
      expect.stringMatching(/^src-main\/engine\/workspace\/run\.ts:1: workspace must not import registry/),
    ])
  })

  it('an unclassified package, where it is imported and where package.json lists it', () => {
    const dir = repo({
      'package.json': JSON.stringify({ name: 'probe', dependencies: { zod: '1', 'left-pad': '1' } }, null, 2) + '\n',
      'src-main/engine/data/pad.ts': `import leftPad from 'left-pad'\n\nexport const pad = leftPad\n`,
    })
    const result = run(layers, dir)
    expect(result.code).toBe(1)
    const message = `the package "left-pad" is not classified: add it to packageRuntimes in scripts/check-layers.mjs as 'node' or 'neutral'`
    expect(result.problems).toEqual([`src-main/engine/data/pad.ts:1: ${message}`, `package.json:5: ${message}`])
  })

  it('a file cycle, type-only imports included', () => {
    const result = run(
      layers,
      repo({
        'src-main/engine/data/a.ts': `import type { B } from './b.js'\n\nexport interface A {\n  b: B\n}\n`,
        'src-main/engine/data/b.ts': `import type { A } from './a.js'\n\nexport interface B {\n  a: A\n}\n`,
      }),
    )
    expect(result).toEqual({
      code: 1,
      problems: [
        'src-main/engine/data/a.ts:1: file cycle: src-main/engine/data/a.ts <-> src-main/engine/data/b.ts import each other (directly or through each other); break it',
      ],
    })
  })

  it('a folder under src-main/engine that the table does not place', () => {
    const result = run(layers, repo({ 'src-main/engine/reports/index.ts': `export const reports = []\n` }))
    expect(result.code).toBe(1)
    expect(result.problems).toEqual([
      expect.stringMatching(/^src-main\/engine\/reports\/index\.ts:1: src-main\/engine\/reports\/ is not in the dependency table/),
    ])
  })

  it('an unformatted file', () => {
    const dir = repo({ 'src-main/engine/data/messy.ts': `export const messy = {a:1,b:"two"};\n` })
    expect(run(format, dir)).toEqual({ code: 1, problems: ['src-main/engine/data/messy.ts: not formatted (run `npm run format`)'] })
  })

  it('and npm run lint runs every one of these checks', () => {
    const scripts = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')).scripts as Record<string, string>
    expect(scripts.lint).toContain('node scripts/check-layers.mjs')
    expect(scripts.lint).toContain('npm run typecheck')
    expect(scripts.lint).toContain('npm run format:check')
    expect(scripts['format:check']).toBe('node scripts/check-format.mjs')
    for (const config of ['tsconfig.json', 'tsconfig.web.json', 'tsconfig.pages.json']) expect(scripts.typecheck).toContain(`tsc -p ${config} --noEmit`)
  })
})

describe('the runtime tsconfigs', () => {
  const config = (name: string) =>
    JSON.parse(fs.readFileSync(path.join(root, name), 'utf8')) as { compilerOptions: { lib: string[]; types: string[] }; include: string[] }

  it('give Node code no DOM and the renderer no Node types', () => {
    const node = config('tsconfig.json')
    expect(node.compilerOptions.lib).not.toContain('DOM')
    expect(node.compilerOptions.types).toEqual(['node'])
    expect(node.include).toEqual(expect.arrayContaining(['src-main', 'src-preload', 'test', 'bench']))
    const web = config('tsconfig.web.json')
    expect(web.compilerOptions.lib).toContain('DOM')
    expect(web.compilerOptions.types).toEqual([])
    expect(web.include).toEqual(['src-renderer/src', 'src-preload/bridge.ts'])
  })
})
