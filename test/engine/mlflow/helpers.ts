import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { startEngineHost, type EngineHost } from '../../../src-main/engine/host.js'
import { afterThisTest, tempDir } from '../../helpers/workspace.js'

export const fixturesDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../fixtures/mlflow')

export function loadFixture<T = any>(name: string): T {
  return JSON.parse(fs.readFileSync(path.join(fixturesDir, name), 'utf8')) as T
}

/** The files of the ONNX model folder fixture, by name. */
export function modelFolderFiles(): Record<string, Buffer> {
  const dir = path.join(fixturesDir, 'onnx-model')
  return Object.fromEntries(fs.readdirSync(dir).map((f) => [f, fs.readFileSync(path.join(dir, f))]))
}

/** A real engine host (workspace, HTTP API with MLflow's routes) on a free loopback port. */
export async function startMlflowEngine(dir = tempDir('lathe-mlflow-')): Promise<EngineHost> {
  const host = await startEngineHost({ workspaceDir: dir, holder: 'mlflow test', port: 0 })
  afterThisTest(() => host.stop())
  return host
}
