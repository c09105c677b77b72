import { createRequire } from 'node:module'
import type { onnx as OnnxNamespace } from 'onnx-proto'

const { onnx } = createRequire(import.meta.url)('onnx-proto') as { onnx: typeof OnnxNamespace }

/**
 * Writes a tiny ONNX model with the protobuf writer (no Python, no Lathe training):
 * `output = input * scale`, float32 [batch, width]. Stands for "an ONNX file from
 * some other tool" with a signature different from the iris fixture.
 */
export function scaleModel(options: { input: string; output: string; width: number; scale: number }): Uint8Array {
  const floatType = (width: number) => ({
    tensorType: { elemType: onnx.TensorProto.DataType.FLOAT, shape: { dim: [{ dimParam: 'batch' }, { dimValue: width }] } },
  })
  const model = onnx.ModelProto.create({
    irVersion: 7,
    producerName: 'lathe-test-protobuf-writer',
    opsetImport: [{ domain: '', version: 13 }],
    metadataProps: [{ key: 'purpose', value: 'registry test' }],
    graph: {
      name: 'scale',
      node: [{ opType: 'Mul', input: [options.input, 'scale'], output: [options.output] }],
      initializer: [{ name: 'scale', dataType: onnx.TensorProto.DataType.FLOAT, dims: [1], floatData: [options.scale] }],
      input: [{ name: options.input, type: floatType(options.width) }],
      output: [{ name: options.output, type: floatType(options.width) }],
    },
  })
  return onnx.ModelProto.encode(model).finish()
}
