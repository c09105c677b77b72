#!/usr/bin/env node
// The architecture, checked: a wrong import fails `npm run lint` with file:line instead of
// surfacing as a crash in one process only or as capabilities that quietly grow into each
// other. Modelled on VS Code's `code-layering` table and `code-no-deep-import-of-internal`
// rule, and on Signal's `file-suffix` rule that classes every npm package by runtime.
//
//   - the dependency table (`modules` below): which part of src-main may import which;
//   - front doors: another capability is imported only through its `index.ts`;
//   - no file cycles in src-main;
//   - runtimes: src-main/engine and src-main/cli never import electron; src-renderer and
//     what it bundles (src-main/engine/api/common) never import a Node builtin or a
//     node-only package; src-renderer imports from src-main only api/common or types;
//     src-preload imports from src-main only types;
//   - every npm package is classified (`packageRuntimes` below), so a new one fails the
//     lint until someone says where it may run.
//
// Imports are read with TypeScript's own parser (ts.createSourceFile), so comments,
// strings, `import type`, `{ type A }` clauses and `typeof import('x')` are understood the
// way the compiler understands them. (ts.preProcessFile lists the same specifiers but
// cannot tell a type-only import from a value import.)
//
// Usage: node scripts/check-layers.mjs [ROOT]   (ROOT defaults to the repository)
import fs from 'node:fs'
import { builtinModules } from 'node:module'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import ts from 'typescript'

const repoRoot = path.join(path.dirname(fileURLToPath(import.meta.url)), '..')
const sourceExtensions = /\.(?:[cm]?[jt]sx?)$/
const builtins = new Set(builtinModules.flatMap((name) => [name, `node:${name}`]))

/**
 * The dependency table, lowest first. `dirs` are repository paths (a trailing `/` is a
 * folder; the longest match wins); `uses` lists the modules it may import; `doors` are the
 * only files another module may import (none listed: any file). Within a module anything
 * goes. docs/ARCHITECTURE.md draws this table: change both together.
 */
const below = ['common', 'workspace', 'kernel', 'system']
const capabilities = ['data', 'training', 'registry', 'serving', 'monitoring']
const engineModules = [...below, ...capabilities, 'sync', 'mlflow', 'pipelines']
const door = (name) => [`src-main/engine/${name}/index.ts`]
export const modules = [
  // Plain TypeScript shared with the renderer: errors, the signature schema, the client, formatting.
  { name: 'common', dirs: ['src-main/engine/api/common/'], uses: [] },
  { name: 'workspace', dirs: ['src-main/engine/workspace/'], uses: ['common'], doors: door('workspace') },
  // The api kernel: operation and event definitions, input validation, the engine context and log.
  {
    name: 'kernel',
    dirs: ['src-main/engine/api/', 'src-main/engine/context.ts', 'src-main/engine/log.ts'],
    uses: ['common', 'workspace'],
    doors: ['src-main/engine/api/index.ts', 'src-main/engine/context.ts', 'src-main/engine/log.ts'],
  },
  // versions.ts is a second, light door: the version and project root, which the CLI reads to
  // print --help before it loads any capability (the index re-exports zod schemas).
  {
    name: 'system',
    dirs: ['src-main/engine/system/'],
    uses: ['common', 'workspace', 'kernel'],
    doors: [...door('system'), 'src-main/engine/system/versions.ts'],
  },
  { name: 'data', dirs: ['src-main/engine/data/'], uses: [...below], doors: door('data') },
  { name: 'training', dirs: ['src-main/engine/training/'], uses: [...below, 'data'], doors: door('training') },
  { name: 'registry', dirs: ['src-main/engine/registry/'], uses: [...below, 'data', 'training'], doors: door('registry') },
  { name: 'serving', dirs: ['src-main/engine/serving/'], uses: [...below, 'data', 'training', 'registry'], doors: door('serving') },
  // Monitoring watches what serving answered (its request ring and prediction log), so it
  // sits just above serving; serving reaches monitoring only through the contract (ctx.call).
  {
    name: 'monitoring',
    dirs: ['src-main/engine/monitoring/'],
    uses: [...below, 'data', 'training', 'registry', 'serving'],
    doors: door('monitoring'),
  },
  { name: 'sync', dirs: ['src-main/engine/sync/'], uses: [...below, ...capabilities], doors: door('sync') },
  { name: 'mlflow', dirs: ['src-main/engine/mlflow/'], uses: [...below, ...capabilities, 'sync'], doors: door('mlflow') },
  {
    name: 'pipelines',
    dirs: ['src-main/engine/pipelines/'],
    uses: [...below, ...capabilities, 'sync', 'mlflow'],
    doors: door('pipelines'),
  },
  // The composition root: the contract, the engine, its HTTP transport, the host, its services.
  { name: 'root', dirs: ['src-main/engine/'], uses: engineModules },
  // The CLI also hosts `lathe team-server` (through the team server's front door).
  { name: 'cli', dirs: ['src-main/cli/'], uses: ['root', ...engineModules, 'team'] },
  { name: 'electron', dirs: ['src-main/electron/'], uses: ['root', 'common', 'workspace', 'kernel'] },
  // The team server: its own process on PostgreSQL; shares the engine's lowest layers only.
  { name: 'team', dirs: ['src-main/team/'], uses: ['common', 'workspace', 'kernel', 'system'], doors: ['src-main/team/index.ts'] },
]

/**
 * Where each npm package may run (Signal's file-suffix table): `node` (needs Node or a
 * native addon: refused in the renderer and in api/common), `neutral` (plain JS that a
 * browser can run), `electron` (only src-main/electron and the preload), `types` (never
 * imported). A package that is imported or listed in package.json but missing here fails
 * the lint: add it here.
 */
export const packageRuntimes = {
  '@duckdb/node-api': 'node',
  '@duckdb/node-bindings': 'node',
  '@electric-sql/pglite': 'node',
  '@electron/rebuild': 'node',
  '@fastify/static': 'node',
  '@tanstack/react-virtual': 'neutral',
  '@tensorflow/tfjs': 'neutral',
  // Not a direct dependency: comes with @tensorflow/tfjs; tests pin the reference CPU backend.
  '@tensorflow/tfjs-backend-cpu': 'neutral',
  '@tensorflow/tfjs-backend-wasm': 'neutral',
  '@tensorflow/tfjs-backend-webgpu': 'neutral',
  '@tensorflow/tfjs-node': 'node',
  '@tensorflow/tfjs-node-gpu': 'node',
  '@types/*': 'types',
  '@vitejs/plugin-react': 'node',
  'better-sqlite3': 'node',
  commander: 'node',
  electron: 'electron',
  'electron-builder': 'node',
  'electron-vite': 'node',
  fastify: 'node',
  fflate: 'neutral',
  'onnx-proto': 'neutral',
  'onnxruntime-node': 'node',
  pg: 'node',
  'pg-*': 'node',
  // The third-party Node MLflow client, only in the MLflow smoke test.
  mlflow: 'node',
  'playwright-core': 'node',
  prettier: 'node',
  'prom-client': 'node',
  protobufjs: 'neutral',
  react: 'neutral',
  'react-dom': 'neutral',
  recharts: 'neutral',
  tsx: 'node',
  typescript: 'node',
  'vega-datasets': 'neutral',
  vite: 'node',
  vitest: 'node',
  // Dawn for Node (a native addon): WebGPU for training in the engine's worker.
  webgpu: 'node',
  yaml: 'neutral',
  zod: 'neutral',
  zustand: 'neutral',
}

/** The package a bare specifier names (`@scope/name/sub` -> `@scope/name`). */
export function packageOf(specifier) {
  const parts = specifier.split('/')
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]
}

/** The runtime of a package from the table (exact name first, then `prefix*` patterns); undefined when unclassified. */
export function runtimeOf(pkg) {
  if (Object.hasOwn(packageRuntimes, pkg)) return packageRuntimes[pkg]
  for (const [pattern, runtime] of Object.entries(packageRuntimes)) {
    if (pattern.endsWith('*') && pkg.startsWith(pattern.slice(0, -1))) return runtime
  }
  return undefined
}

/** Every import of a file: specifier, line, and whether it is erased at compile time (type-only). */
export function findImports(text, fileName = 'file.ts') {
  const kind = /\.[cm]?jsx?$/.test(fileName) ? ts.ScriptKind.JSX : ts.ScriptKind.TSX
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true, kind)
  const found = []
  const add = (literal, typeOnly) => {
    const line = source.getLineAndCharacterOfPosition(literal.getStart(source)).line + 1
    found.push({ specifier: literal.text, line, typeOnly })
  }
  const visit = (node) => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      const clause = node.importClause
      const named = clause?.namedBindings
      const allNamesTyped = named !== undefined && ts.isNamedImports(named) && named.elements.length > 0 && named.elements.every((e) => e.isTypeOnly)
      add(node.moduleSpecifier, Boolean(clause && (clause.isTypeOnly || (!clause.name && allNamesTyped))))
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      const named = node.exportClause
      const allNamesTyped = named !== undefined && ts.isNamedExports(named) && named.elements.length > 0 && named.elements.every((e) => e.isTypeOnly)
      add(node.moduleSpecifier, node.isTypeOnly || allNamesTyped)
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
      const expression = node.moduleReference.expression
      if (ts.isStringLiteral(expression)) add(expression, node.isTypeOnly)
    } else if (ts.isCallExpression(node) && node.arguments.length >= 1 && ts.isStringLiteralLike(node.arguments[0])) {
      const isImport = node.expression.kind === ts.SyntaxKind.ImportKeyword
      const isRequire = ts.isIdentifier(node.expression) && node.expression.text === 'require'
      if (isImport || isRequire) add(node.arguments[0], false)
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) {
      // `typeof import('x')` in a type position is erased too.
      add(node.argument.literal, true)
    }
    ts.forEachChild(node, visit)
  }
  visit(source)
  return found
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
const posix = (p) => p.split(path.sep).join('/')

/** The module of the table a repository path belongs to (longest `dirs` match), or null outside src-main. */
export function moduleOf(relativePath) {
  let best = null
  let bestLength = -1
  for (const module of modules) {
    for (const dir of module.dirs) {
      const hit = dir.endsWith('/') ? relativePath.startsWith(dir) : relativePath === dir
      if (hit && dir.length > bestLength) ((best = module), (bestLength = dir.length))
    }
  }
  return best
}

/** `./x.js` (as written in ESM TypeScript) -> the source file it means, when it exists. */
function resolveSource(fromFile, specifier) {
  const target = path.resolve(path.dirname(fromFile), specifier)
  const candidates = [target, target.replace(/\.([cm]?)js$/, '.$1ts'), target.replace(/\.jsx$/, '.tsx'), `${target}.ts`, path.join(target, 'index.ts')]
  return candidates.find((c) => sourceExtensions.test(c) && fs.existsSync(c) && fs.statSync(c).isFile()) ?? candidates[1]
}

/** Where the file lives, for the runtime rules. */
function placeOf(rel) {
  if (rel.startsWith('src-main/engine/api/common/')) return 'common'
  if (rel.startsWith('src-main/engine/')) return 'engine'
  if (rel.startsWith('src-main/cli/')) return 'cli'
  if (rel.startsWith('src-main/electron/')) return 'electron-main'
  if (rel.startsWith('src-main/')) return 'main'
  if (rel.startsWith('src-renderer/')) return 'renderer'
  if (rel.startsWith('src-preload/')) return 'preload'
  return 'other'
}

/** The runtime rules: electron stays in src-main/electron and the preload; the renderer side stays free of Node. */
function runtimeRule(place, imp, targetRel, pkg) {
  const s = imp.specifier
  if (place === 'engine' || place === 'common') {
    if (isElectron(s)) return `the engine must not import "${s}": it runs in plain Node (lathe ui, the CLI, tests)`
    if (targetRel?.startsWith('src-main/electron/')) return `the engine must not import from src-main/electron: "${s}"`
  }
  if (place === 'common') {
    if (builtins.has(s)) return `api/common must not import the Node builtin "${s}": the renderer imports it`
    if (targetRel && !targetRel.startsWith('src-main/engine/api/common/')) return `api/common must not import "${s}" from outside api/common`
    if (pkg && runtimeOf(pkg) === 'node' && !imp.typeOnly) {
      return `api/common must not import the node-only package "${pkg}": the renderer bundles api/common (classified in scripts/check-layers.mjs)`
    }
  }
  if (place === 'cli') {
    if (isElectron(s)) return `the CLI must not import "${s}": it runs in plain Node`
    if (targetRel?.startsWith('src-main/electron/')) return `the CLI must not import from src-main/electron: "${s}"`
  }
  if (place === 'renderer') {
    if (isElectron(s)) return `the renderer must not import "${s}": it reaches the desktop only through the preload bridge`
    if (builtins.has(s)) return `the renderer must not import the Node builtin "${s}": it runs in a browser page`
    if (pkg && runtimeOf(pkg) === 'node' && !imp.typeOnly) {
      return `the renderer must not import the node-only package "${pkg}": it runs in a browser page (classified in scripts/check-layers.mjs)`
    }
    if (targetRel?.startsWith('src-main/') && !imp.typeOnly && !targetRel.startsWith('src-main/engine/api/common/')) {
      return `the renderer may import from src-main only src-main/engine/api/common/* or types (import type): "${s}"`
    }
  }
  if (place === 'preload' && targetRel?.startsWith('src-main/') && !imp.typeOnly) {
    return `the preload may import from src-main only types (import type): "${s}"`
  }
  return null
}

/** The dependency table and the front doors, between modules of src-main. */
function tableRule(fromModule, targetModule, targetRel, imp) {
  if (!fromModule || !targetModule || fromModule === targetModule) return null
  if (!fromModule.uses.includes(targetModule.name)) {
    const allowed = fromModule.uses.length ? fromModule.uses.join(', ') : 'nothing outside itself'
    return (
      `${fromModule.name} must not import ${targetModule.name} ("${imp.specifier}"): ` +
      `the dependency table in scripts/check-layers.mjs lets ${fromModule.name} import ${allowed} (docs/ARCHITECTURE.md)`
    )
  }
  if (targetModule.doors && !targetModule.doors.includes(targetRel)) {
    const front = targetModule.doors.map((d) => `"${d}"`).join(' or ')
    return `deep import into ${targetModule.name}: "${imp.specifier}" is internal to it; ` + `import from its front door ${front} (export what you need there)`
  }
  return null
}

/** `src-main/engine/<folder>` that the table does not place: a new capability must be given a row. */
function unplacedRule(rel) {
  const m = rel.match(/^src-main\/engine\/([^/]+)\//)
  if (m && moduleOf(rel)?.name === 'root') {
    return `src-main/engine/${m[1]}/ is not in the dependency table: give it a row in scripts/check-layers.mjs (and docs/ARCHITECTURE.md)`
  }
  const top = rel.match(/^src-main\/([^/]+)\//)
  if (top && !moduleOf(rel)) return `src-main/${top[1]}/ is not in the dependency table: give it a row in scripts/check-layers.mjs`
  return null
}

/** Strongly connected components of the src-main import graph with more than one file: the cycles. */
function fileCycles(graph) {
  const index = new Map()
  const low = new Map()
  const stack = []
  const onStack = new Set()
  const cycles = []
  let counter = 0
  const connect = (v) => {
    index.set(v, counter)
    low.set(v, counter++)
    stack.push(v)
    onStack.add(v)
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue
      if (!index.has(w)) (connect(w), low.set(v, Math.min(low.get(v), low.get(w))))
      else if (onStack.has(w)) low.set(v, Math.min(low.get(v), index.get(w)))
    }
    if (low.get(v) === index.get(v)) {
      const component = []
      let w
      do ((w = stack.pop()), onStack.delete(w), component.push(w))
      while (w !== v)
      if (component.length > 1) cycles.push(component.sort())
    }
  }
  for (const v of graph.keys()) if (!index.has(v)) connect(v)
  return cycles
}

/** The violations under `rootDir`, as `{ file, line, message }`. */
export function checkLayers(rootDir) {
  const problems = []
  const graph = new Map()
  const report = (file, line, message) => problems.push({ file, line, message })
  for (const top of ['src-main', 'src-renderer', 'src-preload', 'test', 'bench', 'scripts']) {
    for (const file of sourceFiles(path.join(rootDir, top))) {
      const rel = posix(path.relative(rootDir, file))
      const place = placeOf(rel)
      const fromModule = moduleOf(rel)
      const unplaced = place === 'engine' || place === 'main' ? unplacedRule(rel) : null
      if (unplaced) report(rel, 1, unplaced)
      const edges = new Set()
      for (const imp of findImports(fs.readFileSync(file, 'utf8'), file)) {
        const relative = imp.specifier.startsWith('.')
        const target = relative ? resolveSource(file, imp.specifier) : null
        const targetRel = target ? posix(path.relative(rootDir, target)) : null
        const pkg = !relative && !builtins.has(imp.specifier) ? packageOf(imp.specifier) : null
        if (target && rel.startsWith('src-main/') && targetRel.startsWith('src-main/')) edges.add(targetRel)
        let message = runtimeRule(place, imp, targetRel, pkg)
        if (!message && pkg && runtimeOf(pkg) === undefined) {
          message = `the package "${pkg}" is not classified: add it to packageRuntimes in scripts/check-layers.mjs as 'node' or 'neutral'`
        }
        if (!message && targetRel && fromModule) message = tableRule(fromModule, moduleOf(targetRel), targetRel, imp)
        if (message) report(rel, imp.line, message)
      }
      if (rel.startsWith('src-main/')) graph.set(rel, edges)
    }
  }
  for (const cycle of fileCycles(graph)) {
    report(cycle[0], 1, `file cycle: ${cycle.join(' <-> ')} import each other (directly or through each other); break it`)
  }
  const manifest = path.join(rootDir, 'package.json')
  if (fs.existsSync(manifest)) {
    const text = fs.readFileSync(manifest, 'utf8')
    const json = JSON.parse(text)
    const lines = text.split('\n')
    for (const field of ['dependencies', 'devDependencies', 'optionalDependencies', 'peerDependencies']) {
      for (const pkg of Object.keys(json[field] ?? {})) {
        if (runtimeOf(pkg) !== undefined) continue
        const line = lines.findIndex((l) => l.includes(`"${pkg}"`)) + 1
        report('package.json', line, `the package "${pkg}" is not classified: add it to packageRuntimes in scripts/check-layers.mjs as 'node' or 'neutral'`)
      }
    }
  }
  return problems
}

const invokedDirectly = process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)
if (invokedDirectly) {
  const root = path.resolve(process.argv[2] ?? repoRoot)
  const problems = checkLayers(root)
  for (const p of problems) process.stderr.write(`${p.file}:${p.line}: ${p.message}\n`)
  if (problems.length) {
    process.stderr.write(`check-layers: ${problems.length} layering violation(s)\n`)
    process.exit(1)
  }
  process.stdout.write('check-layers: ok\n')
}
