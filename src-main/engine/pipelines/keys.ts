import fs from 'node:fs'
import path from 'node:path'
import { definitionJson, type PipelineDefinition, type StageDefinition } from './definition.js'
import { canonicalJson, hashFileBytes, sha256 } from './hash.js'
import { importSource } from './stages.js'
import type { StageOutput } from './types.js'

/** Bumped when a stage kind's behaviour changes, so old cache entries stop matching. */
const KEY_VERSION = 'lathe-pipelines/1'

/** What a stage's cache key is made of; kept with each stage run so `status` can say what changed. */
export interface KeyParts {
  definition: string
  /** Files the stage reads, relative to the pipeline file -> SHA-256 of their bytes (`missing` when absent). */
  files: Record<string, string>
  /** Upstream stage -> the id of its output. */
  inputs: Record<string, string>
}

export async function keyPartsOf(pipeline: PipelineDefinition, stage: StageDefinition, upstream: ReadonlyMap<string, StageOutput>): Promise<KeyParts> {
  const files: Record<string, string> = {}
  const hashRelative = async (relative: string) => {
    const file = path.resolve(pipeline.dir, relative)
    files[relative] = fs.existsSync(file) ? await hashFileBytes(file) : 'missing'
  }
  if (stage.kind === 'import') {
    const source = importSource(stage as StageDefinition<'import'>)
    if ('file' in source) await hashRelative(source.file)
    const rules = (stage as StageDefinition<'import'>).spec.rules
    if (rules) await hashRelative(rules)
  }
  const inputs: Record<string, string> = {}
  for (const ref of stage.refs) inputs[ref.stage] = upstream.get(ref.stage)?.id ?? 'missing'
  return { definition: sha256(definitionJson(stage)), files, inputs }
}

export function keyOf(parts: KeyParts): string {
  return sha256(KEY_VERSION, canonicalJson(parts))
}

/** Why a stage's key differs from the one it last ran with, for people. */
export function whatChanged(now: KeyParts, before: KeyParts | null): string {
  if (!before) return 'never run'
  const changes: string[] = []
  if (now.definition !== before.definition) changes.push('its definition changed')
  for (const [file, hash] of Object.entries(now.files)) {
    if (before.files[file] !== hash)
      changes.push(hash === 'missing' ? `${file} is missing` : before.files[file] === 'missing' ? `${file} appeared` : `${file} changed`)
  }
  for (const [stage, id] of Object.entries(now.inputs)) if (before.inputs[stage] !== id) changes.push(`the output of "${stage}" changed`)
  return changes.length ? changes.join('; ') : 'its inputs differ from every successful run'
}
