import { createRequire } from 'node:module'
import fs from 'node:fs/promises'
import type * as ort from 'onnxruntime-node'
import { LatheError } from '../api/common/errors.js'
import type { ModelSignature, TensorSpec } from '../api/common/signature.js'
import { compileColumnRules, type ColumnRules } from './input-rules.js'
import type { ServableVersion } from './resolver.js'

/** onnxruntime loads when a model is first run, not when the CLI starts. */
const onnxruntime = (): typeof ort => createRequire(import.meta.url)('onnxruntime-node')

/** One input tensor's values, flat in row-major order: `rows * width` entries. */
export interface FeedColumn {
  spec: TensorSpec
  values: unknown[]
  /** Elements per row: the product of the non-batch dimensions. */
  width: number
}

/** Rows ready for a session: one flat column per model input, plus the raw rows for the log. */
export interface InputBatch {
  rows: number
  feeds: FeedColumn[]
  /** The request's own view of each row (column -> value), kept for the prediction log. */
  records: () => Array<Record<string, unknown>>
  /**
   * Where the payload allows it: one row's record as `JSON.stringify(records()[row])`
   * gives it, without building the record objects (the prediction log's encoder uses it).
   */
  recordJson?: (row: number) => string
}

/** One output tensor, flat, with `width` values per row. */
export interface OutputColumn {
  name: string
  dtype: string
  dims: readonly number[]
  width: number
  values: ArrayLike<unknown>
}

export type BatchOutputs = OutputColumn[]

type OrtType = 'float32' | 'float64' | 'int64' | 'int32' | 'int16' | 'int8' | 'uint8' | 'uint16' | 'uint32' | 'uint64' | 'string' | 'bool'

/** A model version with its onnxruntime session: created once per version, shared by every request. */
export class LoadedModel {
  private constructor(
    readonly source: ServableVersion,
    readonly session: ort.InferenceSession,
    readonly loadSeconds: number,
  ) {
    this.servedSignature = servingSignature(source.signature)
    this.columnRules = compileColumnRules(this.servedSignature, source.datasetRules ?? [])
  }

  /** The signature requests are validated against (see `servingSignature`). */
  get signature(): ModelSignature {
    return this.servedSignature
  }

  private readonly servedSignature: ModelSignature
  /** Checks from the training dataset's rules, compiled once per version. */
  readonly columnRules: ColumnRules

  get key(): string {
    return versionKey(this.source.model, this.source.version)
  }

  static async load(source: ServableVersion, options: { intraOpThreads?: number } = {}): Promise<LoadedModel> {
    const started = performance.now()
    let bytes: Buffer
    try {
      // Read asynchronously: loading happens beside live traffic during a hot swap.
      bytes = await fs.readFile(source.path)
    } catch (error) {
      throw new LatheError('unavailable', `cannot read the ONNX file of ${source.model} v${source.version} at ${source.path}: ${(error as Error).message}`)
    }
    let session: ort.InferenceSession
    try {
      session = await onnxruntime().InferenceSession.create(bytes, {
        // Tabular models are small: one thread per run avoids thread-pool wake-ups that cost more than the math.
        intraOpNumThreads: options.intraOpThreads ?? 1,
        interOpNumThreads: 1,
        graphOptimizationLevel: 'all',
      })
    } catch (error) {
      throw new LatheError('bad_request', `${source.model} v${source.version}: onnxruntime cannot load the model: ${(error as Error).message}`)
    }
    const missing = source.signature.inputs.filter((i) => !session.inputNames.includes(i.name)).map((i) => i.name)
    if (missing.length) {
      await session.release()
      throw new LatheError('bad_request', `${source.model} v${source.version}: its signature names inputs the ONNX graph lacks: ${missing.join(', ')}`)
    }
    return new LoadedModel(source, session, (performance.now() - started) / 1000)
  }

  /** Runs one (micro-)batch. The batch was validated against the signature already. */
  async run(batch: InputBatch): Promise<BatchOutputs> {
    const feeds: Record<string, ort.Tensor> = {}
    for (const column of batch.feeds) {
      const dims = [batch.rows, ...column.spec.shape.slice(1).map((d) => d ?? column.width)]
      if (column.spec.shape.length === 1) dims.splice(1)
      feeds[column.spec.name] = new (onnxruntime().Tensor)(ortType(column.spec.dtype), toTypedData(column.spec.dtype, column.values) as never, dims)
    }
    const results = await this.session.run(feeds)
    const outputs: BatchOutputs = []
    for (const spec of this.signature.outputs) {
      const tensor = results[spec.name]
      if (!tensor) continue
      const width = batch.rows === 0 ? 0 : tensor.size / batch.rows
      outputs.push({ name: spec.name, dtype: tensor.type, dims: tensor.dims, width, values: tensor.data as ArrayLike<unknown> })
    }
    return outputs
  }

  async release(): Promise<void> {
    await this.session.release()
  }
}

export function versionKey(model: string, version: number): string {
  return `${model}@${version}`
}

function ortType(dtype: string): OrtType {
  const t = dtype === 'float' ? 'float32' : dtype === 'double' ? 'float64' : dtype === 'boolean' ? 'bool' : dtype
  return t as OrtType
}

function toTypedData(dtype: string, values: unknown[]): unknown {
  switch (ortType(dtype)) {
    case 'float32':
      return Float32Array.from(values as number[])
    case 'float64':
      return Float64Array.from(values as number[])
    case 'int32':
      return Int32Array.from(values as number[])
    case 'int16':
      return Int16Array.from(values as number[])
    case 'int8':
      return Int8Array.from(values as number[])
    case 'uint8':
      return Uint8Array.from(values as number[])
    case 'uint16':
      return Uint16Array.from(values as number[])
    case 'uint32':
      return Uint32Array.from(values as number[])
    case 'int64':
      return BigInt64Array.from(values as number[], (v) => BigInt(Math.trunc(v)))
    case 'uint64':
      return BigUint64Array.from(values as number[], (v) => BigInt(Math.trunc(v)))
    case 'bool':
      return Uint8Array.from(values as boolean[], (v) => (v ? 1 : 0))
    default:
      return values
  }
}

/** Numeric element types, for validation: anything else is string or bool. */
export function isNumericDtype(dtype: string): boolean {
  return !['string', 'bool', 'boolean'].includes(dtype)
}

/**
 * An imported model whose every input is one value per row ([N,1] or [N]) is as
 * tabular as a Lathe-trained one: give it columns named after its inputs, so it
 * takes records and gets a "try it" form too. Other imported models stay tensor-only.
 */
export function servingSignature(signature: ModelSignature): ModelSignature {
  if (signature.columns || signature.inputs.length === 0) return signature
  const perRow = signature.inputs.every((i) => i.shape.length === 1 || (i.shape.length === 2 && i.shape[1] === 1))
  if (!perRow) return signature
  return {
    ...signature,
    columns: signature.inputs.map((i) => ({
      name: i.name,
      kind: isNumericDtype(i.dtype) ? ('numeric' as const) : ('categorical' as const),
      sourceType: i.dtype,
      nullable: isNumericDtype(i.dtype) && i.dtype.startsWith('float'),
    })),
  }
}
