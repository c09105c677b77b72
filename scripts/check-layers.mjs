#!/usr/bin/env node
// Where code may run is visible in its path, and this script keeps it so (the way
// VS Code's code-layering lint rule does): a wrong import fails `npm run lint` with
// file:line instead of surfacing as a crash in one process only.
//
//   src-main/engine/**          never imports electron nor src-main/electron (it runs in plain Node too)
//   src-main/cli/**             the same: the CLI is a plain Node program
//   src-main/engine/api/common  no Node builtins, nothing outside itself (the renderer imports it)
//   src-renderer/**             from src-main only api/common/* or `import type`; no electron
//   src-preload/**              from src-main only `import type`
//
// Usage: node scripts/check-layers.mjs [ROOT]   (ROOT defaults to the repository)
import fs from 'node:fs'
import { builtinModules } from 'node:module'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const root = path.resolve(process.argv[2] ?? path.join(path.dirname(fileURLToPath(import.meta.url)), '..'))
const sourceExtensions = /\.(?:[cm]?[jt]sx?)$/
const builtins = new Set(builtinModules.flatMap((name) => [name, `node:${name}`]))

/** Blanks out comments (keeping line breaks and string contents), so commented-out imports do not count. */
export function stripComments(text) {
  let out = ''
  let i = 0
  let quote = null
  while (i < text.length) {
    const c = text[i]
    const next = text[i + 1]
    if (quote) {
      out += c
      if (c === '\\') {
        out += next ?? ''
        i += 2
        continue
      }
      if (c === quote) quote = null
      i++
    } else if (c === '/' && next === '/') {
      while (i < text.length && text[i] !== '\n') (out += ' '), i++
    } else if (c === '/' && next === '*') {
      const end = text.indexOf('*/', i + 2)
      const stop = end < 0 ? text.length : end + 2
      out += text.slice(i, stop).replace(/[^\n]/g, ' ')
      i = stop
    } else {
      if (c === '"' || c === "'" || c === '`') quote = c
      out += c
      i++
    }
  }
  return out
}

/** Every import of a file: specifier, line, and whether it is erased at compile time (type-only). */
export function findImports(text) {
  const code = stripComments(text)
  const found = []
  const lineOf = (index) => code.slice(0, index).split('\n').length
  // The clause holds only names, braces, commas, `*` and `as`/`type`, and never another
  // import/export keyword, so one match cannot swallow the next statement.
  const statement = /(^|[;\n}])\s*(import|export)\s+(type\s+)?((?:(?!\b(?:import|export)\b)[\w\s{},*$])*?)\s*from\s*(['"])([^'"\n]+)\5/g
  for (const m of code.matchAll(statement)) {
    const clause = m[4]
    if (m[2] === 'export' && !/^(\*|\{)/.test(clause.trim())) continue
    const typeOnly = Boolean(m[3]) || isTypeOnlyClause(clause)
    found.push({ specifier: m[6], line: lineOf(m.index + m[0].indexOf(m[2], m[1].length)), typeOnly })
  }
  for (const m of code.matchAll(/(^|[;\n}])\s*import\s*(['"])([^'"\n]+)\2/g)) {
    found.push({ specifier: m[3], line: lineOf(m.index + m[0].indexOf('import', m[1].length)), typeOnly: false })
  }
  for (const m of code.matchAll(/\b(import|require)\s*\(\s*(['"])([^'"\n]+)\2\s*\)/g)) {
    // `import('x')` inside a type position (`typeof import('x')`) is erased too.
    const before = code.slice(Math.max(0, m.index - 8), m.index)
    found.push({ specifier: m[3], line: lineOf(m.index), typeOnly: /typeof\s*$/.test(before) })
  }
  return found
}

/** `{ type A, type B }` with no default or namespace import: erased like `import type`. */
function isTypeOnlyClause(clause) {
  const braces = clause.match(/^\{([\s\S]*)\}$/)
  if (!braces) return false
  const names = braces[1].split(',').map((s) => s.trim()).filter(Boolean)
  return names.length > 0 && names.every((name) => /^type\s/.test(name))
}

function* sourceFiles(dir) {
  if (!fs.existsSync(dir)) return
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name.startsWith('.')) continue
    const full = path.join(dir, entry.name)
    if (entry.isDirectory()) yield* sourceFiles(full)
    else if (sourceExtensions.test(entry.name) && !entry.name.endsWith('.d.ts')) yield full
  }
}

const inside = (file, dir) => {
  const relative = path.relative(dir, file)
  return relative === '' || (!relative.startsWith('..') && !path.isAbsolute(relative))
}
const isElectron = (specifier) => specifier === 'electron' || specifier.startsWith('electron/')

/** The layering violations under `root`, as `{ file, line, message }`. */
export function checkLayers(rootDir) {
  const dirs = {
    engine: path.join(rootDir, 'src-main', 'engine'),
    common: path.join(rootDir, 'src-main', 'engine', 'api', 'common'),
    main: path.join(rootDir, 'src-main'),
    cli: path.join(rootDir, 'src-main', 'cli'),
    electronMain: path.join(rootDir, 'src-main', 'electron'),
    renderer: path.join(rootDir, 'src-renderer'),
    preload: path.join(rootDir, 'src-preload'),
  }
  const problems = []
  const check = (dir, rule) => {
    for (const file of sourceFiles(dir)) {
      for (const imp of findImports(fs.readFileSync(file, 'utf8'))) {
        const target = imp.specifier.startsWith('.') ? path.resolve(path.dirname(file), imp.specifier) : null
        const message = rule(imp, target, file)
        if (message) problems.push({ file: path.relative(rootDir, file), line: imp.line, message })
      }
    }
  }

  check(dirs.engine, (imp, target, file) => {
    if (isElectron(imp.specifier)) return `the engine must not import "${imp.specifier}": it runs in plain Node (lathe ui, the CLI, tests)`
    if (target && inside(target, dirs.electronMain)) return `the engine must not import from src-main/electron: "${imp.specifier}"`
    if (inside(file, dirs.common)) {
      if (builtins.has(imp.specifier)) return `api/common must not import the Node builtin "${imp.specifier}": the renderer imports it`
      const target = imp.specifier.startsWith('.') ? path.resolve(path.dirname(file), imp.specifier) : null
      if (target && !inside(target, dirs.common)) return `api/common must not import "${imp.specifier}" from outside api/common`
    }
    return null
  })
  check(dirs.cli, (imp, target) => {
    if (isElectron(imp.specifier)) return `the CLI must not import "${imp.specifier}": it runs in plain Node`
    if (target && inside(target, dirs.electronMain)) return `the CLI must not import from src-main/electron: "${imp.specifier}"`
    return null
  })
  check(dirs.renderer, (imp, target) => {
    if (isElectron(imp.specifier)) return `the renderer must not import "${imp.specifier}": it reaches the desktop only through the preload bridge`
    if (target && inside(target, dirs.main) && !imp.typeOnly && !inside(target, dirs.common)) {
      return `the renderer may import from src-main only src-main/engine/api/common/* or types (import type): "${imp.specifier}"`
    }
    return null
  })
  check(dirs.preload, (imp, target) => {
    if (target && inside(target, dirs.main) && !imp.typeOnly) {
      return `the preload may import from src-main only types (import type): "${imp.specifier}"`
    }
    return null
  })
  return problems
}

const invokedDirectly = process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)
if (invokedDirectly) {
  const problems = checkLayers(root)
  for (const p of problems) process.stderr.write(`${p.file}:${p.line}: ${p.message}\n`)
  if (problems.length) {
    process.stderr.write(`check-layers: ${problems.length} layering violation(s)\n`)
    process.exit(1)
  }
  process.stdout.write('check-layers: ok\n')
}
