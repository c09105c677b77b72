import fs from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const require = createRequire(import.meta.url)

/** The project root: where package.json is, from source or from the built `out/`. */
export function projectRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url))
  for (;;) {
    if (fs.existsSync(path.join(dir, 'package.json'))) return dir
    const parent = path.dirname(dir)
    if (parent === dir) return process.cwd()
    dir = parent
  }
}

let cachedApp: string | null = null
export function appVersion(): string {
  cachedApp ??= (JSON.parse(fs.readFileSync(path.join(projectRoot(), 'package.json'), 'utf8')) as { version: string }).version
  return cachedApp
}

/** A package's installed version, or null when it is not installed. */
export function packageVersion(name: string): string | null {
  try {
    const main = require.resolve(name)
    let dir = path.dirname(main)
    for (;;) {
      const file = path.join(dir, 'package.json')
      if (fs.existsSync(file)) {
        const pkg = JSON.parse(fs.readFileSync(file, 'utf8')) as { name?: string; version?: string }
        if (pkg.name === name) return pkg.version ?? null
      }
      const parent = path.dirname(dir)
      if (parent === dir) return null
      dir = parent
    }
  } catch {
    return null
  }
}

export function libraryVersions(): Record<string, string | null> {
  const names = [
    '@duckdb/node-api',
    'better-sqlite3',
    'onnxruntime-node',
    '@tensorflow/tfjs',
    '@tensorflow/tfjs-backend-wasm',
    '@tensorflow/tfjs-node',
    '@tensorflow/tfjs-node-gpu',
    '@tensorflow/tfjs-backend-webgpu',
    'webgpu',
    'fastify',
  ]
  return Object.fromEntries(names.map((n) => [n, packageVersion(n)]))
}
