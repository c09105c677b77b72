#!/usr/bin/env node
// Is the code formatted the project's way (prettier with the repository's .prettierrc.json)?
// `npm run format:check` (part of `npm run lint`) names every file that is not;
// `npm run format` rewrites them. The options were measured against the code as it was
// written (no semicolons, single quotes, trailing commas, long lines): printWidth 160
// changed the fewest lines (1611 of 13.6k, against 6511 at 120).
//
// Usage: node scripts/check-format.mjs [--write] [ROOT]   (ROOT defaults to the repository)
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import * as prettier from 'prettier'

const repoRoot = path.join(path.dirname(fileURLToPath(import.meta.url)), '..')
/** What is formatted: the code and the configs, not data (test fixtures, resources) nor build output. */
export const formattedDirs = ['src-main', 'src-preload', 'src-renderer', 'test', 'bench', 'scripts', 'bin']
export const formattedRootFiles = /^(?:electron\.vite\.config\.ts|vitest\.config\.ts|tsconfig(?:\.\w+)?\.json|\.prettierrc\.json)$/
const skippedDirs = new Set(['node_modules', 'fixtures', 'out', 'dist'])
const formattedExtensions = /\.(?:[cm]?[jt]sx?|css|html)$/

function* files(rootDir) {
  for (const name of fs.readdirSync(rootDir)) if (formattedRootFiles.test(name)) yield path.join(rootDir, name)
  function* walk(dir) {
    if (!fs.existsSync(dir)) return
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      if (entry.name.startsWith('.') || skippedDirs.has(entry.name)) continue
      const full = path.join(dir, entry.name)
      if (entry.isDirectory()) yield* walk(full)
      else if (formattedExtensions.test(entry.name)) yield full
    }
  }
  for (const dir of formattedDirs) yield* walk(path.join(rootDir, dir))
}

/** The files under `rootDir` that prettier would change (relative paths); with `write`, changes them. */
export async function checkFormat(rootDir, { write = false } = {}) {
  const options = JSON.parse(fs.readFileSync(path.join(repoRoot, '.prettierrc.json'), 'utf8'))
  const unformatted = []
  for (const file of files(rootDir)) {
    const text = fs.readFileSync(file, 'utf8')
    const formatted = await prettier.format(text, { ...options, filepath: file })
    if (formatted === text) continue
    unformatted.push(path.relative(rootDir, file).split(path.sep).join('/'))
    if (write) {
      // Staged then renamed, so an interrupted run never leaves half a file.
      const staging = `${file}.formatting`
      fs.writeFileSync(staging, formatted)
      fs.renameSync(staging, file)
    }
  }
  return unformatted
}

const invokedDirectly = process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)
if (invokedDirectly) {
  const args = process.argv.slice(2)
  const write = args.includes('--write')
  const root = path.resolve(args.find((a) => a !== '--write') ?? repoRoot)
  const unformatted = await checkFormat(root, { write })
  if (write) {
    process.stdout.write(`format: ${unformatted.length} file(s) rewritten\n`)
  } else if (unformatted.length) {
    for (const file of unformatted) process.stderr.write(`${file}: not formatted (run \`npm run format\`)\n`)
    process.stderr.write(`check-format: ${unformatted.length} file(s) not formatted\n`)
    process.exit(1)
  } else {
    process.stdout.write('check-format: ok\n')
  }
}
