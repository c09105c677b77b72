import fs from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import { z } from 'zod'
import { packageVersion } from '../system/index.js'

const require = createRequire(import.meta.url)

/**
 * Compute backends for training, best first. Each is probed by loading it for real:
 * a backend is available only if TensorFlow.js can switch to it and run an op.
 * The native packages are optionalDependencies (they download libtensorflow at
 * install time, which fails offline), so "module missing" is an ordinary answer.
 */
export const backendNames = ['tfjs-node-gpu', 'webgpu', 'tfjs-node', 'wasm', 'cpu'] as const
export type BackendName = (typeof backendNames)[number]

export const BackendReport = z.object({
  name: z.enum(backendNames),
  available: z.boolean(),
  chosen: z.boolean(),
  reason: z.string().nullable(),
  package: z.string(),
  version: z.string().nullable(),
  device: z.string().nullable(),
  /** What the device says of itself (webgpu: the adapter's vendor, architecture and limits). */
  details: z.record(z.string(), z.union([z.string(), z.number()])).optional(),
})
export type BackendReport = z.infer<typeof BackendReport>

const packages: Record<BackendName, string> = {
  'tfjs-node-gpu': '@tensorflow/tfjs-node-gpu',
  webgpu: '@tensorflow/tfjs-backend-webgpu',
  'tfjs-node': '@tensorflow/tfjs-node',
  wasm: '@tensorflow/tfjs-backend-wasm',
  cpu: '@tensorflow/tfjs',
}

type Tf = typeof import('@tensorflow/tfjs')

interface ProbeResult {
  available: boolean
  reason: string | null
  device: string | null
  details?: Record<string, string | number>
}

async function smokeTest(tf: Tf, backend: string): Promise<void> {
  const ok = await tf.setBackend(backend)
  if (!ok) throw new Error(`tf.setBackend('${backend}') returned false`)
  await tf.ready()
  // data(), not dataSync(): webgpu cannot read back synchronously in Node.
  const t = tf.add(tf.tensor1d([1, 2]), tf.tensor1d([3, 4]))
  const sum = await t.data()
  t.dispose()
  if (sum[0] !== 4 || sum[1] !== 6) throw new Error('a test op gave a wrong result')
}

function describeLoadError(pkg: string, error: unknown): string {
  const e = error as NodeJS.ErrnoException
  if (e.code === 'ERR_MODULE_NOT_FOUND' || e.code === 'MODULE_NOT_FOUND') {
    if (pkg === 'webgpu' || pkg === packages.webgpu) {
      return `module not installed: ${pkg} is an optional dependency (npm install webgpu @tensorflow/tfjs-backend-webgpu)`
    }
    if (String(e.message).includes(pkg)) {
      return `module not installed: ${pkg} is an optional dependency whose install downloads libtensorflow; install it where that download is possible`
    }
  }
  return `load error: ${String(e.message ?? e).split('\n')[0]}`
}

/** The path TensorFlow.js's wasm backend loads its .wasm binaries from. */
export function wasmBinariesDir(): string {
  return path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm')) + path.sep
}

/**
 * A native package installed without its install script (offline installs skip the
 * libtensorflow download) has no addon; importing it anyway registers its kernels
 * before failing and floods stderr, so look for the addon first.
 */
function missingNativeAddon(pkg: string): string | null {
  let dir: string
  try {
    dir = path.dirname(require.resolve(`${pkg}/package.json`))
  } catch {
    return `module not installed: ${pkg} is an optional dependency whose install downloads libtensorflow; install it where that download is possible`
  }
  const lib = path.join(dir, 'lib')
  const addon = fs.existsSync(lib) && fs.readdirSync(lib).some((d) => d.startsWith('napi-v') && fs.existsSync(path.join(lib, d, 'tfjs_binding.node')))
  return addon
    ? null
    : `load error: ${pkg} is installed but its native addon (lib/napi-v*/tfjs_binding.node) was never built: its install script, which downloads libtensorflow, did not run`
}

/** Where Dawn looks for the Vulkan loader on Linux; without it the webgpu package cannot find any GPU. */
function vulkanLoaderMissing(): string | null {
  if (process.platform !== 'linux') return null
  const dirs = ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib64', '/usr/lib', '/lib/x86_64-linux-gnu', '/usr/local/lib']
  const extra = (process.env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean)
  if ([...extra, ...dirs].some((d) => fs.existsSync(path.join(d, 'libvulkan.so.1')))) return null
  return "no device: libvulkan.so.1 (the Vulkan loader) is not installed, so Dawn cannot reach a GPU; install libvulkan1 and the GPU vendor's Vulkan driver"
}

interface GpuAdapterLike {
  info?: { vendor?: string; architecture?: string; device?: string; description?: string; isFallbackAdapter?: boolean }
  limits?: Record<string, number>
}

/**
 * WebGPU through Dawn (the npm package `webgpu`: Vulkan on Linux, Metal on macOS,
 * D3D12 on Windows) and TensorFlow.js's webgpu backend. Available only when Dawn
 * offers a hardware adapter; a software one (lavapipe, SwiftShader) is not a GPU.
 */
async function probeWebGpu(tf: Tf): Promise<ProbeResult> {
  const noLoader = vulkanLoaderMissing()
  if (noLoader) return { available: false, reason: noLoader, device: null }
  let dawn: { create(flags: string[]): { requestAdapter(o?: object): Promise<GpuAdapterLike | null> }; globals: object }
  try {
    dawn = (await import('webgpu')) as unknown as typeof dawn
  } catch (error) {
    return { available: false, reason: describeLoadError('webgpu', error), device: null }
  }
  Object.assign(globalThis, dawn.globals)
  const gpu = dawn.create([])
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' })
  if (!adapter) {
    return { available: false, reason: 'no device: Dawn found no GPU adapter it accepts (software Vulkan such as lavapipe is refused)', device: null }
  }
  const info = adapter.info ?? {}
  if (info.isFallbackAdapter)
    return {
      available: false,
      reason: `no device: Dawn offers only a software fallback adapter (${info.description || info.device || 'unnamed'})`,
      device: null,
    }
  // TensorFlow.js's webgpu backend asks navigator.gpu for its adapter.
  const nav = ((globalThis as { navigator?: object }).navigator ??= {}) as { gpu?: unknown }
  if (!nav.gpu) Object.defineProperty(nav, 'gpu', { value: gpu, configurable: true })
  await import('@tensorflow/tfjs-backend-webgpu')
  await smokeTest(tf, 'webgpu')
  const limits = adapter.limits ?? {}
  const details: Record<string, string | number> = {
    vendor: info.vendor ?? '',
    architecture: info.architecture ?? '',
    device: info.device ?? '',
    description: info.description ?? '',
  }
  for (const key of ['maxBufferSize', 'maxStorageBufferBindingSize', 'maxComputeWorkgroupStorageSize', 'maxComputeInvocationsPerWorkgroup']) {
    if (typeof limits[key] === 'number') details[key] = limits[key]
  }
  const name = [info.vendor, info.architecture, info.device || info.description].filter(Boolean).join(' ')
  return { available: true, reason: null, device: `gpu: ${name || 'WebGPU adapter'} (Dawn)`, details }
}

async function probeOne(name: BackendName): Promise<ProbeResult> {
  const pkg = packages[name]
  try {
    if (name === 'webgpu') {
      const tf = await import('@tensorflow/tfjs')
      return await probeWebGpu(tf)
    }
    if (name === 'tfjs-node-gpu' || name === 'tfjs-node') {
      const missing = missingNativeAddon(pkg)
      if (missing) return { available: false, reason: missing, device: null }
      const mod = (await import(pkg)) as { default?: Tf } & Tf
      const tf = (mod.default ?? mod) as Tf
      await smokeTest(tf, 'tensorflow')
      if (name === 'tfjs-node-gpu') {
        // tfjs-node-gpu loads on a machine without CUDA but then runs on the CPU.
        const gpus = (tf as unknown as { backend(): { binding?: { isUsingGpuDevice?: () => boolean } } }).backend().binding?.isUsingGpuDevice?.()
        if (gpus === false) return { available: false, reason: 'no device: libtensorflow loaded but found no CUDA GPU', device: null }
        return { available: true, reason: null, device: 'cuda:0' }
      }
      return { available: true, reason: null, device: 'cpu (native libtensorflow)' }
    }
    const tf = await import('@tensorflow/tfjs')
    if (name === 'wasm') {
      const wasm = await import('@tensorflow/tfjs-backend-wasm')
      wasm.setWasmPaths(wasmBinariesDir())
      await smokeTest(tf, 'wasm')
      return { available: true, reason: null, device: 'cpu (WebAssembly)' }
    }
    await smokeTest(tf, 'cpu')
    return { available: true, reason: null, device: 'cpu (JavaScript)' }
  } catch (error) {
    return { available: false, reason: describeLoadError(pkg, error), device: null }
  }
}

let cached: Promise<BackendReport[]> | null = null

/**
 * Probes every backend (once per process) and marks the chosen one: the pinned
 * backend if it is available, else the best available.
 */
export function probeBackends(pinned: BackendName | 'auto' = 'auto'): Promise<BackendReport[]> {
  cached ??= (async () => {
    const reports: BackendReport[] = []
    for (const name of backendNames) {
      const result = await probeOne(name)
      reports.push({ name, ...result, chosen: false, package: packages[name], version: packageVersion(packages[name]) })
    }
    return reports
  })()
  return cached.then((reports) => {
    const pick = (pinned !== 'auto' && reports.find((r) => r.name === pinned && r.available)) || reports.find((r) => r.available)
    return reports.map((r) => {
      const chosen = r === pick
      if (pinned !== 'auto' && r.name === pinned && !r.available) {
        return { ...r, chosen, reason: `${r.reason} (pinned, so falling back to ${pick?.name ?? 'nothing'})` }
      }
      return { ...r, chosen }
    })
  })
}

export async function chooseBackend(pinned: BackendName | 'auto' = 'auto'): Promise<BackendReport> {
  const reports = await probeBackends(pinned)
  const chosen = reports.find((r) => r.chosen)
  if (!chosen) throw new Error('no TensorFlow.js backend could be loaded: ' + reports.map((r) => `${r.name}: ${r.reason}`).join('; '))
  return chosen
}
