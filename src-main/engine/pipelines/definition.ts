import fs from 'node:fs'
import path from 'node:path'
import { createRequire } from 'node:module'
import type { Document, Node } from 'yaml'
import { LatheError } from '../api/common/errors.js'
import { canonicalJson } from './hash.js'
import { stageSchemas, STAGE_KINDS, type StageKind, type StageSpecs } from './stage-specs.js'

const require = createRequire(import.meta.url)
let yamlModule: typeof import('yaml') | null = null
/** yaml, loaded when a pipeline file is first read: it is many small CommonJS files, which every engine start would otherwise pay for. */
const yaml = (): typeof import('yaml') => (yamlModule ??= require('yaml') as typeof import('yaml'))

/**
 * `lathe.yaml`: a named pipeline and its stages. Parsed with the `yaml` package's
 * document API, which keeps every node's position, so each mistake is reported at
 * its line and column; dependencies come from the references between stages.
 */

export interface Position {
  line: number
  column: number
}

export interface StageReference extends Position {
  stage: string
  /** Where in the stage the reference sits: `train.dataset`, `sql`. */
  field: string
}

export interface StageDefinition<K extends StageKind = StageKind> extends Position {
  name: string
  kind: K
  spec: StageSpecs[K]
  /** The stage as written (plain data): its cache key hashes this. */
  raw: Record<string, unknown>
  refs: StageReference[]
}

export interface PipelineDefinition {
  name: string
  /** Absolute path of the file; stage paths are relative to its folder. */
  file: string
  dir: string
  /** In run order: every stage after the stages it reads. */
  stages: StageDefinition[]
}

/** A malformed pipeline file: `lathe pipeline` exits 2 and prints FILE:LINE:COLUMN. */
export function pipelineFileError(file: string, message: string, at: Position | null): LatheError {
  const where = at ? `${file}:${at.line}:${at.column}` : file
  return new LatheError('bad_request', `${where}: ${message}`, {
    field: 'pipeline_file',
    ...(at ? { line: at.line } : {}),
    details: { file, line: at?.line ?? null, column: at?.column ?? null, malformed: true },
  })
}

export function isPipelineFileError(error: unknown): boolean {
  return (error as LatheError | null)?.field === 'pipeline_file'
}

/** The file a `[FILE]` argument names: the argument, or `lathe.yaml` in the folder given (or the current one). */
export function pipelineFilePath(file: string | undefined, cwd = process.cwd()): string {
  const resolved = path.resolve(cwd, file ?? 'lathe.yaml')
  if (fs.existsSync(resolved) && fs.statSync(resolved).isDirectory()) return path.join(resolved, 'lathe.yaml')
  return resolved
}

export function loadPipeline(file: string): PipelineDefinition {
  let text: string
  try {
    text = fs.readFileSync(file, 'utf8')
  } catch {
    throw new LatheError('not_found', `no pipeline file at ${file} (write a lathe.yaml there, or pass its path)`, { field: 'file' })
  }
  return parsePipeline(text, file)
}

const DATASET_KINDS: ReadonlySet<StageKind> = new Set(['import', 'sql'])
const TRAINABLE_KINDS: ReadonlySet<StageKind> = new Set(['import', 'sql', 'split'])
const MODEL_KINDS: ReadonlySet<StageKind> = new Set(['train', 'sweep'])
const NAME = /^[A-Za-z][A-Za-z0-9_-]{0,62}$/

export function parsePipeline(text: string, file: string): PipelineDefinition {
  const { isMap, isScalar, LineCounter, parseDocument } = yaml()
  const lines = new LineCounter()
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true })
  const posOf = (offset: number): Position => {
    const { line, col } = lines.linePos(offset)
    return { line, column: col }
  }
  const at = (node: Node | null | undefined): Position | null => (node?.range ? posOf(node.range[0]) : null)
  if (doc.errors.length) {
    const error = doc.errors[0]!
    const pos = error.linePos?.[0] ? { line: error.linePos[0].line, column: error.linePos[0].col } : posOf(error.pos[0])
    throw pipelineFileError(file, `not valid YAML: ${error.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '')}`, pos)
  }
  const root = doc.contents
  if (!isMap(root)) throw pipelineFileError(file, 'a pipeline file is a map with `pipeline: NAME` and `stages:`', at(root as Node) ?? { line: 1, column: 1 })
  for (const pair of root.items) {
    const key = isScalar(pair.key) ? String(pair.key.value) : ''
    if (key !== 'pipeline' && key !== 'stages') {
      throw pipelineFileError(file, `unknown top-level key "${key}" (a pipeline file has \`pipeline\` and \`stages\`)`, at(pair.key as Node))
    }
  }
  const nameNode = doc.get('pipeline', true) as Node | undefined
  const name = isScalar(nameNode) ? nameNode.value : undefined
  if (typeof name !== 'string' || !NAME.test(name)) {
    throw pipelineFileError(
      file,
      '`pipeline:` needs a name: letters, digits, "-" or "_", starting with a letter (it prefixes the datasets the pipeline makes)',
      at(nameNode) ?? { line: 1, column: 1 },
    )
  }
  const stagesNode = doc.get('stages', true) as Node | undefined
  if (!isMap(stagesNode) || stagesNode.items.length === 0) {
    throw pipelineFileError(
      file,
      '`stages:` needs at least one stage, each a name with one of ' + STAGE_KINDS.join(', '),
      at(stagesNode) ?? { line: 1, column: 1 },
    )
  }

  const stages: StageDefinition[] = []
  for (const pair of stagesNode.items) {
    const keyNode = pair.key as Node
    const stageName = isScalar(keyNode) ? String(keyNode.value) : ''
    const pos = at(keyNode)!
    if (!NAME.test(stageName)) {
      throw pipelineFileError(file, `stage name "${stageName}": letters, digits, "-" or "_", starting with a letter`, pos)
    }
    const body = pair.value as Node
    if (!isMap(body)) throw pipelineFileError(file, `stage "${stageName}" needs a body: one of ${STAGE_KINDS.join(', ')} with its settings`, at(body) ?? pos)
    const raw = body.toJSON() as Record<string, unknown>
    const kinds = STAGE_KINDS.filter((k) => k in raw || (k === 'import' && 'labelled_traffic' in raw))
    if (kinds.length !== 1) {
      throw pipelineFileError(
        file,
        kinds.length === 0
          ? `stage "${stageName}" has no kind: give one of ${STAGE_KINDS.join(', ')}`
          : `stage "${stageName}" has ${kinds.length} kinds (${kinds.join(', ')}): give exactly one`,
        pos,
      )
    }
    const kind = kinds[0]!
    const parsed = stageSchemas[kind].safeParse(raw)
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!
      const issuePath = issue.code === 'unrecognized_keys' ? [...issue.path, issue.keys[0]!] : issue.path
      const node = deepest(doc, ['stages', stageName, ...issuePath.map(String)], issue.code === 'unrecognized_keys')
      const where = issuePath.length ? `${issuePath.join('.')}: ` : ''
      throw pipelineFileError(file, `stage "${stageName}" (${kind}): ${where}${issue.message}`, at(node) ?? pos)
    }
    const refs = referencesOf(kind, parsed.data as StageSpecs[StageKind], (fieldPath) => at(deepest(doc, ['stages', stageName, ...fieldPath])) ?? pos)
    stages.push({ name: stageName, kind, spec: parsed.data as StageSpecs[StageKind], raw, refs, ...pos } as StageDefinition)
  }

  const byName = new Map(stages.map((s) => [s.name, s]))
  for (const stage of stages) {
    for (const ref of stage.refs) {
      const target = byName.get(ref.stage)
      if (!target) {
        const near = closest(
          ref.stage,
          [...byName.keys()].filter((n) => n !== stage.name),
        )
        throw pipelineFileError(
          file,
          `stage "${stage.name}" refers to "${ref.stage}" (${ref.field}), which is not a stage of this pipeline${near ? `; did you mean "${near}"?` : ''}`,
          ref,
        )
      }
      const allowed = allowedKinds(stage.kind)
      if (!allowed.has(target.kind)) {
        throw pipelineFileError(
          file,
          `stage "${stage.name}" ${ref.field} names "${ref.stage}", a ${target.kind} stage; it needs a ${[...allowed].join(' or ')} stage`,
          ref,
        )
      }
    }
  }
  return { name, file, dir: path.dirname(file), stages: runOrder(stages, file) }
}

function allowedKinds(kind: StageKind): ReadonlySet<StageKind> {
  if (kind === 'sql') return DATASET_KINDS
  if (kind === 'promote') return MODEL_KINDS
  if (kind === 'split') return DATASET_KINDS
  return TRAINABLE_KINDS
}

/** The stages a stage reads, each with where the reference is written. */
function referencesOf(kind: StageKind, spec: StageSpecs[StageKind], where: (fieldPath: string[]) => Position): StageReference[] {
  const ref = (stage: string, fieldPath: string[]): StageReference => ({ stage, field: fieldPath.join('.'), ...where(fieldPath) })
  switch (kind) {
    case 'import':
      return []
    case 'sql': {
      const { sql } = spec as StageSpecs['sql']
      const base = where(['sql'])
      return sqlTableNames(sql).map((t) => ({ stage: t.name, field: 'sql', ...offsetIn(sql, t.index, base) }))
    }
    case 'split':
      return [ref((spec as StageSpecs['split']).split.dataset, ['split', 'dataset'])]
    case 'train':
      return [ref((spec as StageSpecs['train']).train.dataset, ['train', 'dataset'])]
    case 'sweep':
      return [ref((spec as StageSpecs['sweep']).sweep.dataset, ['sweep', 'dataset'])]
    case 'promote':
      return [ref((spec as StageSpecs['promote']).promote.model, ['promote', 'model'])]
    case 'drift': {
      const drift = (spec as StageSpecs['drift']).drift
      return [ref(drift.reference, ['drift', 'reference']), ref(drift.current, ['drift', 'current'])]
    }
  }
}

/** A position inside a scalar: plain one-line scalars map exactly; block scalars to their line. */
function offsetIn(text: string, index: number, base: Position): Position {
  const before = text.slice(0, index).split('\n')
  if (before.length === 1) return { line: base.line, column: base.column + index }
  return { line: base.line + before.length, column: before.at(-1)!.length + 1 }
}

const SQL_KEYWORDS = new Set(['select', 'lateral', 'unnest', 'values'])

/**
 * The tables a stage's SQL reads: every name after FROM or JOIN (or a comma in a
 * FROM list) that is not a function call, a qualified name or a CTE of the query
 * itself. Strings, quoted identifiers and comments are skipped. Earlier stages are
 * tables by their names, so these are the stage's dependencies; an unknown one is
 * reported at its line like any other bad reference.
 */
export function sqlTableNames(sql: string): Array<{ name: string; index: number }> {
  const tokens: Array<{ text: string; index: number }> = []
  const re = /'(?:[^']|'')*'|"(?:[^"]|"")*"|--[^\n]*|\/\*[\s\S]*?\*\/|[A-Za-z_][A-Za-z0-9_]*|\S/g
  for (const m of sql.matchAll(re)) {
    const t = m[0]
    if (t.startsWith("'") || t.startsWith('--') || t.startsWith('/*')) continue
    tokens.push({ text: t, index: m.index })
  }
  const ctes = new Set<string>()
  tokens.forEach((t, i) => {
    if (/^[A-Za-z_]/.test(t.text) && tokens[i + 1]?.text.toLowerCase() === 'as' && tokens[i + 2]?.text === '(') ctes.add(t.text)
  })
  const found: Array<{ name: string; index: number }> = []
  let depth = 0
  const fromDepth: number[] = []
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!
    const lower = t.text.toLowerCase()
    if (t.text === '(') depth++
    else if (t.text === ')') {
      depth--
      while (fromDepth.length && fromDepth.at(-1)! > depth) fromDepth.pop()
    }
    const afterFrom = lower === 'from' || lower === 'join'
    const afterComma = t.text === ',' && fromDepth.at(-1) === depth
    if (lower === 'from') fromDepth.push(depth)
    else if (['where', 'group', 'order', 'limit', 'having', 'union', 'except', 'intersect', 'qualify', 'window', 'on', 'using'].includes(lower)) {
      if (fromDepth.at(-1) === depth) fromDepth.pop()
    }
    if (!afterFrom && !afterComma) continue
    const next = tokens[i + 1]
    if (!next || !/^[A-Za-z_]/.test(next.text) || SQL_KEYWORDS.has(next.text.toLowerCase())) continue
    const after = tokens[i + 2]?.text
    if (after === '(' || after === '.') continue
    if (ctes.has(next.text)) continue
    found.push({ name: next.text, index: next.index })
  }
  return found
}

/** Stages in an order where each follows what it reads; a cycle is an error at the reference that closes it. */
function runOrder(stages: StageDefinition[], file: string): StageDefinition[] {
  const byName = new Map(stages.map((s) => [s.name, s]))
  const state = new Map<string, 'visiting' | 'done'>()
  const order: StageDefinition[] = []
  const visit = (stage: StageDefinition, trail: string[]) => {
    state.set(stage.name, 'visiting')
    for (const ref of stage.refs) {
      const seen = state.get(ref.stage)
      if (seen === 'visiting') {
        const cycle = [...trail.slice(trail.indexOf(ref.stage)), stage.name, ref.stage]
        throw pipelineFileError(file, `stages form a cycle: ${cycle.join(' -> ')} (a stage cannot read its own output)`, ref)
      }
      if (!seen) visit(byName.get(ref.stage)!, [...trail, stage.name])
    }
    state.set(stage.name, 'done')
    order.push(stage)
  }
  for (const stage of stages) if (!state.has(stage.name)) visit(stage, [])
  return order
}

/** The node at `keys`, or the deepest node on the way there (for an error's position). */
function deepest(doc: Document, keys: string[], atKey = false): Node | null {
  const { isMap, isScalar } = yaml()
  for (let n = keys.length; n > 0; n--) {
    const node = doc.getIn(keys.slice(0, n), true) as Node | undefined
    if (node && typeof node === 'object' && 'range' in node) {
      // A setting that is wrong as a whole (an unknown key): point at the key rather than its value.
      const parent = atKey && n > 1 ? (doc.getIn(keys.slice(0, n - 1), true) as Node | undefined) : null
      if (isMap(parent)) {
        const pair = parent.items.find((p) => isScalar(p.key) && String(p.key.value) === keys[n - 1])
        if (pair && isScalar(pair.key)) return pair.key as Node
      }
      return node
    }
  }
  return null
}

function closest(word: string, candidates: string[]): string | null {
  let best: string | null = null
  let bestDistance = Infinity
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase())
    if (d < bestDistance) [best, bestDistance] = [c, d]
  }
  return best !== null && bestDistance <= Math.max(2, Math.floor(word.length / 3)) ? best : null
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!
    row[0] = i
    for (let j = 1; j <= b.length; j++) {
      const temp = row[j]!
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1))
      prev = temp
    }
  }
  return row[b.length]!
}

/** The stage's definition as it enters its cache key (ordering of keys in the file does not matter). */
export function definitionJson(stage: StageDefinition): string {
  return canonicalJson({ kind: stage.kind, stage: stage.raw })
}
