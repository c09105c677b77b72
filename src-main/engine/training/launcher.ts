import { fork, type ChildProcess } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

/**
 * Starts a training worker process. Three ways, one choice:
 * - built app (`out/main/training-worker.js` beside this bundle): fork it;
 * - from source (tests, `./bin/lathe.mjs`): fork `worker.ts` through tsx;
 * - inside Electron, the engine host is a utilityProcess, which cannot itself call
 *   utilityProcess.fork, so the worker runs on Electron's own binary as plain Node
 *   (ELECTRON_RUN_AS_NODE=1).
 * stdio is piped so the engine can keep the tail of stderr for a crash report.
 */
export function forkTrainingWorker(env: NodeJS.ProcessEnv = {}): ChildProcess {
  const here = path.dirname(fileURLToPath(import.meta.url))
  // The bundler may put this module in out/main/ or in out/main/chunks/.
  const built = [path.join(here, 'training-worker.js'), path.join(here, '..', 'training-worker.js')].find((f) => fs.existsSync(f))
  const useBuilt = built !== undefined
  const script = built ?? path.join(here, 'worker.ts')
  const inElectron = Boolean(process.versions.electron)
  // Extra Node flags for the worker only, e.g. a heap cap (--max-old-space-size=N).
  const extra = (process.env.LATHE_TRAINING_WORKER_NODE_OPTIONS ?? '').split(/\s+/).filter(Boolean)
  return fork(script, [], {
    execPath: process.execPath,
    // --no-liftoff: V8 compiles the wasm backend's kernels with its optimizing tier
    // when first called (~50 ms, in the first epoch) instead of running them on the
    // baseline tier, about 2x slower, until each has run enough to be recompiled: that
    // slow stretch was most of a small table's first 100 steps. A 10-epoch
    // seattle-weather run takes the same total time either way; every epoch after the
    // first runs at full speed.
    // tsx by its resolved URL: a bare `--import tsx` resolves from the working folder,
    // which fails when `lathe` runs from source outside the checkout (a pipeline's folder).
    execArgv: ['--no-liftoff', ...extra, ...(useBuilt ? [] : ['--import', import.meta.resolve('tsx')])],
    env: { ...process.env, ...env, ...(inElectron ? { ELECTRON_RUN_AS_NODE: '1' } : {}) },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    serialization: 'advanced',
  })
}
