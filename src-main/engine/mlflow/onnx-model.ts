import fsp from 'node:fs/promises'
import { createRequire } from 'node:module'
import type { onnx as OnnxNamespace } from 'onnx-proto'
import { isLatheError } from '../api/common/errors.js'
import type { EngineContext } from '../context.js'
import { describeOnnx, type OnnxDescription } from '../registry/index.js'
import * as store from './store.js'

// onnx-proto is CommonJS; a default import of it breaks under NodeNext.
const { onnx } = createRequire(import.meta.url)('onnx-proto') as { onnx: typeof OnnxNamespace }

/** What an MLflow model folder holds, as far as Lathe can serve it. */
export type ModelFolder =
  | { servable: true; bytes: Uint8Array; description: OnnxDescription; flavors: string[]; onnxFile: string }
  | { servable: false; reason: string; flavors: string[] }

const EXTERNAL = 1

async function readArtifact(ctx: EngineContext, path: string): Promise<Buffer | null> {
  const row = store.getArtifact(ctx.workspace.db, path)
  return row ? fsp.readFile(ctx.workspace.objects.pathOf(row.sha256)) : null
}

/**
 * Reads an MLflow model folder (`MLmodel` + files) from the artifact store. An
 * `onnx` flavor becomes one self-contained ONNX file: initializers saved as external
 * data (`<uuid>.data` next to `model.onnx`, the onnx default for weights of 1 KiB or
 * more) are read back into the graph, so the object the registry keeps loads alone.
 */
export async function readModelFolder(ctx: EngineContext, folder: string): Promise<ModelFolder> {
  const mlmodelBytes = await readArtifact(ctx, `${folder}/MLmodel`)
  if (!mlmodelBytes) {
    return { servable: false, flavors: [], reason: `no MLmodel file at ${folder}/MLmodel, so Lathe cannot tell the flavor (upload the model folder first)` }
  }
  let mlmodel: { flavors?: Record<string, { data?: string } | null> }
  try {
    // yaml loads here, not at engine start (it is many small CommonJS files).
    const { parse } = createRequire(import.meta.url)('yaml') as typeof import('yaml')
    mlmodel = (parse(mlmodelBytes.toString('utf8')) ?? {}) as typeof mlmodel
  } catch (error) {
    return { servable: false, flavors: [], reason: `MLmodel at ${folder} is not valid YAML: ${(error as Error).message.split('\n')[0]}` }
  }
  const flavors = Object.keys(mlmodel.flavors ?? {})
  const onnxFlavor = mlmodel.flavors?.onnx
  if (!onnxFlavor) {
    return {
      servable: false,
      flavors,
      reason: `flavor${flavors.length === 1 ? '' : 's'} ${flavors.join(', ') || 'none'}: Lathe serves only the onnx flavor (mlflow.onnx.log_model); this version is kept as artifacts, listed and downloadable`,
    }
  }
  const onnxFile = onnxFlavor.data || 'model.onnx'
  const bytes = await readArtifact(ctx, `${folder}/${onnxFile}`)
  if (!bytes) return { servable: false, flavors, reason: `the onnx flavor names ${onnxFile}, which was not uploaded to ${folder}` }
  let inlined: Uint8Array
  try {
    inlined = await inlineExternalData(ctx, bytes, folder, onnxFile)
  } catch (error) {
    return { servable: false, flavors, reason: (error as Error).message }
  }
  try {
    const description = await describeOnnx(inlined, `${folder}/${onnxFile}`)
    return { servable: true, bytes: inlined, description, flavors, onnxFile }
  } catch (error) {
    if (!isLatheError(error)) throw error
    return { servable: false, flavors, reason: error.message }
  }
}

async function inlineExternalData(ctx: EngineContext, bytes: Buffer, folder: string, onnxFile: string): Promise<Uint8Array> {
  let model: OnnxNamespace.ModelProto
  try {
    model = onnx.ModelProto.decode(bytes)
  } catch (error) {
    throw new Error(`${folder}/${onnxFile} is not a valid ONNX model: it does not parse as an ONNX protobuf (${(error as Error).message})`)
  }
  const tensors = (model.graph?.initializer ?? []) as OnnxNamespace.TensorProto[]
  const external = tensors.filter((t) => t.dataLocation === EXTERNAL)
  if (external.length === 0) return bytes
  const dir = onnxFile.includes('/') ? `${folder}/${onnxFile.slice(0, onnxFile.lastIndexOf('/'))}` : folder
  const files = new Map<string, Buffer>()
  for (const t of external) {
    const info = Object.fromEntries((t.externalData ?? []).map((e) => [e.key, e.value ?? '']))
    const location = info.location
    if (!location || location.includes('..') || location.startsWith('/')) {
      throw new Error(`tensor ${t.name} of ${onnxFile} names external data at "${location}", which is not a file beside the model`)
    }
    if (!files.has(location)) {
      const data = await readArtifact(ctx, `${dir}/${location}`)
      if (!data) throw new Error(`${onnxFile} keeps tensor ${t.name} in ${location}, which was not uploaded next to it in ${dir}`)
      files.set(location, data)
    }
    const data = files.get(location)!
    const offset = Number(info.offset ?? 0)
    const length = info.length !== undefined ? Number(info.length) : data.length - offset
    if (offset + length > data.length) throw new Error(`${location} is ${data.length} bytes, too short for tensor ${t.name} at ${offset}+${length}`)
    t.rawData = data.subarray(offset, offset + length)
    t.externalData = []
    t.dataLocation = 0
  }
  return onnx.ModelProto.encode(model).finish()
}
