import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { tempDir } from '../../helpers/workspace.js'

const root = path.resolve(import.meta.dirname, '..', '..', '..')
const script = path.join(root, 'scripts', 'check-layers.mjs')

function runCheck(dir?: string) {
  const result = spawnSync(process.execPath, dir ? [script, dir] : [script], { encoding: 'utf8' })
  return { code: result.status, stdout: result.stdout, stderr: result.stderr }
}

/** A miniature repository holding exactly the given files. */
function fixture(files: Record<string, string>): string {
  const dir = tempDir('lathe-layers-')
  for (const [name, text] of Object.entries(files)) {
    fs.mkdirSync(path.join(dir, path.dirname(name)), { recursive: true })
    fs.writeFileSync(path.join(dir, name), text)
  }
  return dir
}

describe('the layering check (npm run lint)', () => {
  it('passes on this repository', () => {
    const result = runCheck()
    expect(result.stderr).toBe('')
    expect(result.code).toBe(0)
  })

  it('names file and line of every forbidden import and fails', () => {
    const dir = fixture({
      'src-main/engine/data/bad.ts': `import fs from 'node:fs'\n\nimport { app } from 'electron'\n`,
      'src-main/engine/training/dyn.ts': `export async function f() {\n  return import('electron/main')\n}\n`,
      'src-main/engine/serving/host.ts': `import { bridge } from '../../electron/bridge.js'\n`,
      'src-main/cli/commands/open.ts': `import { shell } from 'electron'\n`,
      'src-main/electron/main.ts': `import { app } from 'electron'\nimport { Engine } from '../engine/engine.js'\n`,
      'src-main/engine/api/common/bad.ts': `import { z } from 'zod'\nimport path from 'node:path'\nimport { Engine } from '../../engine.js'\n`,
      'src-renderer/src/bad.tsx': [
        `import type { Contract } from '../../src-main/engine/api/contract.js'`,
        `import { LatheError } from '../../src-main/engine/api/common/errors.js'`,
        `import { operations } from '../../src-main/engine/api/contract.js'`,
        `import { ipcRenderer } from 'electron'`,
        '',
      ].join('\n'),
      'src-preload/index.ts': `import { contextBridge } from 'electron'\nimport { Engine } from '../src-main/engine/engine.js'\nimport type { LatheBridge } from '../src-main/electron/bridge.js'\n`,
    })
    const result = runCheck(dir)
    expect(result.code).toBe(1)
    const lines = result.stderr.trim().split('\n')
    expect(lines).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^src-main\/engine\/data\/bad\.ts:3: the engine must not import "electron"/),
        expect.stringMatching(/^src-main\/engine\/training\/dyn\.ts:2: the engine must not import "electron\/main"/),
        expect.stringMatching(/^src-main\/engine\/api\/common\/bad\.ts:2: .*Node builtin "node:path"/),
        expect.stringMatching(/^src-main\/engine\/api\/common\/bad\.ts:3: .*outside api\/common/),
        expect.stringMatching(/^src-renderer\/src\/bad\.tsx:3: the renderer may import from src-main only/),
        expect.stringMatching(/^src-renderer\/src\/bad\.tsx:4: the renderer must not import "electron"/),
        expect.stringMatching(/^src-preload\/index\.ts:2: the preload may import from src-main only types/),
        expect.stringMatching(/^src-main\/engine\/serving\/host\.ts:1: the engine must not import from src-main\/electron/),
        expect.stringMatching(/^src-main\/cli\/commands\/open\.ts:1: the CLI must not import "electron"/),
      ]),
    )
    // Allowed imports are not reported: node:fs in the engine, zod in common, type-only and
    // common/* in the renderer, electron in src-main/electron and the preload.
    expect(lines.filter((l) => !l.startsWith('check-layers:'))).toHaveLength(9)
    expect(lines.at(-1)).toBe('check-layers: 9 layering violation(s)')
  })

  it('ignores imports in comments and counts `{ type A }` clauses as type-only', () => {
    const dir = fixture({
      'src-main/engine/log.ts': `// import { app } from 'electron'\n/* import 'electron' */\nexport const note = "import x from 'electron'"\n`,
      'src-renderer/src/ok.ts': `import {\n  type Contract,\n  type Operations,\n} from '../../src-main/engine/api/contract.js'\n`,
    })
    const result = runCheck(dir)
    expect(result.stderr).toBe('')
    expect(result.code).toBe(0)
  })
})
