import fs from 'node:fs'
import path from 'node:path'

/**
 * What some tests need that `npm test` provides before any test runs: Chromium (its first
 * step, scripts/test-setup.mjs, installs it) and the built app (it runs the build). A test
 * run some other way without them fails at once with what to do, instead of being skipped
 * or failing deep inside a browser launch.
 */
const root = path.resolve(import.meta.dirname, '..', '..')
const chromiumPath = process.env.LATHE_CHROMIUM ?? '/usr/bin/chromium'

export function needChromium(): string {
  if (!fs.existsSync(chromiumPath)) {
    throw new Error(`Chromium is not at ${chromiumPath}: run "node scripts/test-setup.mjs" (installs it on Debian/Ubuntu) or set LATHE_CHROMIUM to a Chromium binary`)
  }
  return chromiumPath
}

/** Throws unless every file (relative to the repository root) exists. */
export function needBuilt(...files: string[]): void {
  for (const file of files) {
    if (!fs.existsSync(path.resolve(root, file))) throw new Error(`${file} is missing: run "npm run build" first`)
  }
}
