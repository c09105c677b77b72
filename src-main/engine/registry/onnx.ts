import { createRequire } from 'node:module'
import type * as ort from 'onnxruntime-node'
import type { onnx as OnnxNamespace } from 'onnx-proto'
import { LatheError } from '../api/common/errors.js'
import type { ModelSignature, TensorSpec } from '../api/common/signature.js'

/** onnxruntime loads when a model is first run, not when the CLI starts. */
const onnxruntime = (): typeof ort => createRequire(import.meta.url)('onnxruntime-node')

/** The ONNX protobuf schema (protobufjs) loads when a model is first read; onnx-proto is CommonJS (a default import breaks under NodeNext). */
const onnxProto = (): typeof OnnxNamespace => (createRequire(import.meta.url)('onnx-proto') as { onnx: typeof OnnxNamespace }).onnx

const elementTypes: Record<number, string> = {
  1: 'float32',
  2: 'uint8',
  3: 'int8',
  4: 'uint16',
  5: 'int16',
  6: 'int32',
  7: 'int64',
  8: 'string',
  9: 'bool',
  10: 'float16',
  11: 'float64',
  12: 'uint32',
  13: 'uint64',
  16: 'bfloat16',
}

export interface OnnxDescription {
  signature: ModelSignature
  /** The model's `metadata_props`, plus producer and opset facts worth showing. */
  metadata: Record<string, string>
}

/**
 * Reads what an ONNX file takes and gives from its graph, and proves it loads in
 * onnxruntime: a file that parses as protobuf but cannot run is refused too.
 * `what` names the file in messages.
 */
export async function describeOnnx(bytes: Uint8Array, what: string): Promise<OnnxDescription> {
  let model: OnnxNamespace.ModelProto
  try {
    model = onnxProto().ModelProto.decode(bytes)
  } catch (error) {
    throw notOnnx(what, `it does not parse as an ONNX protobuf (${(error as Error).message})`)
  }
  const graph = model.graph
  if (!graph || Number(model.irVersion) <= 0) throw notOnnx(what, 'it has no ONNX graph or IR version')
  const initializers = new Set((graph.initializer ?? []).map((t) => t.name))
  const inputs = (graph.input ?? []).filter((i) => !initializers.has(i.name ?? '')).map((i) => tensorSpec(i, what))
  const outputs = (graph.output ?? []).map((o) => tensorSpec(o, what))
  if (inputs.length === 0 || outputs.length === 0) throw notOnnx(what, 'its graph declares no inputs or no outputs')

  try {
    const session = await onnxruntime().InferenceSession.create(bytes)
    await session.release()
  } catch (error) {
    throw new LatheError('bad_request', `${what} is ONNX but onnxruntime cannot load it: ${firstLine((error as Error).message)}`, {
      field: 'file',
    })
  }

  const metadata: Record<string, string> = {}
  for (const prop of model.metadataProps ?? []) if (prop.key) metadata[prop.key] = prop.value ?? ''
  if (model.producerName) metadata['onnx.producer'] = `${model.producerName} ${model.producerVersion ?? ''}`.trim()
  metadata['onnx.ir_version'] = String(Number(model.irVersion))
  const opsets = (model.opsetImport ?? []).map((o) => `${o.domain || 'ai.onnx'}:${Number(o.version)}`)
  if (opsets.length) metadata['onnx.opsets'] = opsets.join(', ')
  if (graph.name) metadata['onnx.graph'] = graph.name

  return { signature: { inputs, outputs, columns: null, task: null, target: null, classes: null }, metadata }
}

function tensorSpec(info: OnnxNamespace.IValueInfoProto, what: string): TensorSpec {
  const tensor = info.type?.tensorType
  if (!tensor) {
    // Sequences and maps (e.g. skl2onnx's ZipMap) have no single dtype; name them plainly.
    const kind = info.type?.sequenceType ? 'sequence' : info.type?.mapType ? 'map' : 'unknown'
    return { name: info.name ?? '', dtype: kind, shape: [] }
  }
  const dtype = elementTypes[tensor.elemType ?? 0]
  if (!dtype) throw notOnnx(what, `tensor "${info.name}" has an unknown element type ${tensor.elemType}`)
  const shape = (tensor.shape?.dim ?? []).map((d) => {
    // A named or missing dimension is dynamic (usually the batch).
    if (d.dimValue === null || d.dimValue === undefined || d.dimParam) return null
    const n = Number(d.dimValue)
    return n > 0 ? n : null
  })
  return { name: info.name ?? '', dtype, shape }
}

function notOnnx(what: string, why: string): LatheError {
  return new LatheError('bad_request', `${what} is not a valid ONNX model: ${why}`, { field: 'file' })
}

function firstLine(text: string): string {
  return text.split('\n')[0]!.slice(0, 300)
}
