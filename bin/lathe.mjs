#!/usr/bin/env node
// The `lathe` command. In a source checkout it runs the TypeScript sources through
// tsx, so what you run is what you read; in a packaged build it runs the bundled CLI.
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const source = join(root, 'src-main', 'cli', 'index.ts')
const built = join(root, 'out', 'main', 'cli.js')

if (existsSync(source)) {
  const { register } = await import('tsx/esm/api')
  register()
  await import(pathToFileURL(source).href)
} else {
  await import(pathToFileURL(built).href)
}
