import type * as TfModule from '@tensorflow/tfjs'

type Tf = typeof TfModule

/** A tensor as kernels see it: the backend's data id, a shape and a dtype. */
export type Buffer = TfModule.TensorInfo

/** Every kernel the training step calls; every backend (wasm, cpu, tensorflow, webgpu) registers them. */
export const stepKernels = ['BatchMatMul', '_FusedMatMul', 'Transpose', 'Add', 'Sub', 'Multiply', 'Square', 'Step', 'Sign', 'Relu', 'Tanh', 'Sigmoid'] as const
export type StepKernel = (typeof stepKernels)[number]

/**
 * TensorFlow.js kernels called straight on the active backend, without the engine:
 * no op wrappers, no tensor tracking, no tidy scopes. The step makes ~30 kernel
 * calls and uploads per batch, and the engine's bookkeeping around each was most of
 * the JavaScript time of a small model's step, several times more while V8 is still
 * warming up (measured: a product and an activation, 4 calls, 0.54 ms through the
 * engine vs 0.36 ms direct over the first 20 calls; 2-3 us a call after warm-up).
 *
 * The same kernels run as through the engine (the backend's registered KernelFuncs),
 * so results are identical. What the engine did for memory is done here: every buffer
 * made since the last `release()` is freed by it.
 */
export class DirectKernels {
  private readonly backend: TfModule.KernelBackend
  private readonly funcs = new Map<StepKernel, TfModule.KernelFunc>()
  private live: Buffer[] = []
  /**
   * Whether `_FusedMatMul` and `Step` may be called here. On wasm, cpu and webgpu they are
   * kernels proper; tfjs-node's compose TensorFlow.js ops (tf.matMul, tf.isNaN, ...),
   * which take Tensors and throw on the bare buffers passed here. Elsewhere the step
   * uses BatchMatMul + Add + the activation, and Sign for relu's derivative.
   */
  readonly fused: boolean
  /**
   * Whether results can be read back synchronously. WebGPU's `readSync` goes through
   * an OffscreenCanvas, which Node does not have; there every read is `readAsync`.
   */
  readonly sync: boolean

  /** `name`: a registered backend to run on (default: the active one); it need not be the active backend. */
  constructor(tf: Tf, name: string = tf.getBackend()) {
    const backend = tf.findBackend(name)
    if (!backend) throw new Error(`TensorFlow.js has no initialized ${name} backend`)
    this.fused = name === 'wasm' || name === 'cpu' || name === 'webgpu'
    this.sync = name !== 'webgpu'
    this.backend = backend
    for (const kernel of stepKernels) {
      const config = tf.getKernel(kernel, name)
      if (!config) throw new Error(`the ${name} backend of TensorFlow.js has no ${kernel} kernel, which training needs`)
      this.funcs.set(kernel, config.kernelFunc)
    }
  }

  /** Row-major values as a [1, rows, cols] buffer, the shape the BatchMatMul kernels take. */
  matrix(values: Float32Array, rows: number, cols: number): Buffer {
    return this.upload(values, [1, rows, cols])
  }

  upload(values: Float32Array, shape: number[], keep = false): Buffer {
    const buffer = { dataId: this.backend.write(values, shape, 'float32'), shape, dtype: 'float32' as const }
    if (!keep) this.live.push(buffer)
    return buffer
  }

  run(kernel: StepKernel, inputs: Record<string, Buffer>, attrs: Record<string, unknown> = {}): Buffer {
    const out = this.funcs.get(kernel)!({ inputs, backend: this.backend, attrs: attrs as TfModule.NamedAttrMap })
    const buffer = Array.isArray(out) ? out[0]! : out
    this.live.push(buffer)
    return buffer
  }

  matmul(a: Buffer, b: Buffer): Buffer {
    return this.run('BatchMatMul', { a, b }, { transposeA: false, transposeB: false })
  }

  read(buffer: Buffer): Float32Array {
    return this.backend.readSync(buffer.dataId) as Float32Array
  }

  async readAsync(buffer: Buffer): Promise<Float32Array> {
    return (await this.backend.read(buffer.dataId)) as Float32Array
  }

  /** Frees every buffer made since the last release (not those uploaded with `keep`). */
  release(): void {
    for (const buffer of this.live) this.backend.disposeData(buffer.dataId, true)
    this.live = []
  }

  free(buffer: Buffer): void {
    this.backend.disposeData(buffer.dataId, true)
  }
}
