import fs from 'node:fs'
import path from 'node:path'
import type { ModelSignature } from '../../../src-main/engine/api/common/signature.js'
import { LatheError } from '../../../src-main/engine/api/common/errors.js'
import type { Engine } from '../../../src-main/engine/engine.js'
import { aliasMovedTopic, type ModelResolver, type ServableVersion } from '../../../src-main/engine/serving/resolver.js'
import { servingService, type ServingService } from '../../../src-main/engine/serving/service.js'
import type { PredictionLogOptions } from '../../../src-main/engine/serving/prediction-log.js'
import { openTestEngine, tempDir } from '../../helpers/workspace.js'

/**
 * A stand-in for the registry that serves real ONNX files written by the test:
 * versions, aliases, and the same `registry.alias.moved` event the registry emits,
 * so hot swap is exercised exactly as a promotion would trigger it.
 */
export class TestModels implements ModelResolver {
  private readonly versions = new Map<string, ServableVersion>()
  private readonly aliases = new Map<string, number>()
  private readonly dir = tempDir('lathe-serving-models-')

  constructor(private readonly engine: Engine) {}

  add(model: string, version: number, bytes: Buffer, signature: ModelSignature, datasetRules: unknown[] = []): ServableVersion {
    const file = path.join(this.dir, `${model}-v${version}.onnx`)
    fs.writeFileSync(file, bytes)
    const v = { model, version, versionId: `${model}-${version}`, path: file, signature, datasetRules }
    this.versions.set(`${model}@${version}`, v)
    return v
  }

  /** Moves an alias and tells the engine, as `lathe models promote` does. */
  setAlias(model: string, alias: string, version: number): void {
    const key = `${model}#${alias}`
    const previous = this.aliases.get(key) ?? null
    this.aliases.set(key, version)
    this.engine.events.emit(aliasMovedTopic, { model, alias, version, previous })
  }

  productionModels(): string[] {
    return [...this.aliases.keys()].filter((k) => k.endsWith('#production')).map((k) => k.slice(0, -'#production'.length))
  }

  resolve(model: string, selector: string): ServableVersion {
    const version = /^\d+$/.test(selector) ? Number(selector) : this.aliases.get(`${model}#${selector}`)
    const found = version === undefined ? undefined : this.versions.get(`${model}@${version}`)
    if (!found) throw new LatheError('not_found', `test registry: no ${model}@${selector}`, { field: 'model' })
    return found
  }
}

export interface ServingFixture {
  engine: Engine
  models: TestModels
  service: ServingService
}

export function servingFixture(log?: PredictionLogOptions, dir?: string): ServingFixture {
  const engine = openTestEngine(dir)
  const models = new TestModels(engine)
  const service = servingService(engine.context, { resolver: models, log })
  return { engine, models, service }
}

export async function postJson(url: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: any; headers: Headers }> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  })
  const text = await response.text()
  let parsed: unknown = text
  try {
    parsed = JSON.parse(text)
  } catch {
    // Not JSON: the test sees the text.
  }
  return { status: response.status, body: parsed, headers: response.headers }
}
