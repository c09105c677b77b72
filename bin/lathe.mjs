#!/usr/bin/env node
// The `lathe` command. It runs the bundled CLI (`out/main/cli.js`, from `npm run build`)
// when that build is newer than every file under src-main, and otherwise the TypeScript
// sources through tsx (slower to start), saying so on stderr when a person is watching.
// A packaged build has no src-main and always runs the bundle.
import { existsSync, readdirSync, statSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const sources = join(root, 'src-main')
const source = join(sources, 'cli', 'index.ts')
const built = join(root, 'out', 'main', 'cli.js')

/** The newest mtime under a folder, folders included (a deleted file changes its folder's). */
function newestMtime(dir) {
  let newest = statSync(dir).mtimeMs
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs)
  }
  return newest
}

function builtIsCurrent() {
  if (!existsSync(built)) return false
  if (!existsSync(source)) return true
  return statSync(built).mtimeMs >= newestMtime(sources)
}

if (builtIsCurrent()) {
  await import(pathToFileURL(built).href)
} else {
  // Only on a terminal: scripts and tests reading stderr get the command's own output.
  if (process.stderr.isTTY || process.env.LATHE_SAY_SOURCES) {
    const why = existsSync(built) ? 'the build is older than src-main' : 'there is no build (out/main/cli.js)'
    process.stderr.write(`lathe: ${why}; running from sources (npm run build makes this faster)\n`)
  }
  const { register } = await import('tsx/esm/api')
  register()
  await import(pathToFileURL(source).href)
}
