import onnxProto from 'onnx-proto'
import type { ModelSignature, TensorSpec } from '../api/common/signature.js'
import type { ModelWeights } from './model.js'
import type { FeatureColumn, Preprocessing } from './types.js'

const { onnx } = onnxProto

/**
 * One ONNX graph with the preprocessing inside: raw feature columns in ([N,1] each,
 * float32 numeric with NaN = missing, string categorical with "" = missing), then
 * impute + standardize, one-hot with an unknown slot (ai.onnx.ml LabelEncoder +
 * OneHot), the dense layers, and for classification Softmax -> `probabilities` and
 * ArgMax -> Gather on the class names -> `label`; for regression `prediction` in the
 * target's own units. The layout follows `api/common/signature.ts`.
 */

const OPSET = 13
const ML_OPSET = 2
const T = onnx.TensorProto.DataType
const A = onnx.AttributeProto.AttributeType
const encoder = new TextEncoder()

type Node = InstanceType<typeof onnx.NodeProto>
type Tensor = InstanceType<typeof onnx.TensorProto>

function floatTensor(name: string, dims: number[], values: ArrayLike<number>): Tensor {
  return onnx.TensorProto.create({ name, dims, dataType: T.FLOAT, floatData: Array.from(values, Math.fround) })
}

function int64Tensor(name: string, dims: number[], values: number[]): Tensor {
  return onnx.TensorProto.create({ name, dims, dataType: T.INT64, int64Data: values })
}

function stringTensor(name: string, values: string[]): Tensor {
  return onnx.TensorProto.create({
    name,
    dims: [values.length],
    dataType: T.STRING,
    stringData: values.map((v) => encoder.encode(v)),
  })
}

function attr(name: string, value: number | string | number[] | string[] | Tensor, floats = false) {
  if (typeof value === 'number') {
    return floats ? onnx.AttributeProto.create({ name, type: A.FLOAT, f: value }) : onnx.AttributeProto.create({ name, type: A.INT, i: value })
  }
  if (typeof value === 'string') return onnx.AttributeProto.create({ name, type: A.STRING, s: encoder.encode(value) })
  if (Array.isArray(value)) {
    if (value.length > 0 && typeof value[0] === 'string') {
      return onnx.AttributeProto.create({ name, type: A.STRINGS, strings: (value as string[]).map((v) => encoder.encode(v)) })
    }
    return onnx.AttributeProto.create({ name, type: A.INTS, ints: value as number[] })
  }
  return onnx.AttributeProto.create({ name, type: A.TENSOR, t: value })
}

function valueInfo(spec: TensorSpec) {
  const elemType = spec.dtype === 'string' ? T.STRING : spec.dtype === 'int64' ? T.INT64 : T.FLOAT
  return onnx.ValueInfoProto.create({
    name: spec.name,
    type: onnx.TypeProto.create({
      tensorType: onnx.TypeProto.Tensor.create({
        elemType,
        shape: onnx.TensorShapeProto.create({
          dim: spec.shape.map((d) =>
            d === null ? onnx.TensorShapeProto.Dimension.create({ dimParam: 'N' }) : onnx.TensorShapeProto.Dimension.create({ dimValue: d }),
          ),
        }),
      }),
    }),
  })
}

export function buildSignature(features: FeatureColumn[], preprocessing: Preprocessing, target: string): ModelSignature {
  const classes = preprocessing.classes
  const byName = new Map(preprocessing.categorical.map((c) => [c.name, c.vocabulary]))
  const ranges = new Map(
    preprocessing.numeric.flatMap((n) => (n.min !== undefined && n.max !== undefined ? [[n.name, { min: n.min, max: n.max }] as const] : [])),
  )
  return {
    inputs: features.map((f) => ({ name: f.name, dtype: f.kind === 'numeric' ? 'float32' : 'string', shape: [null, 1] })),
    outputs: classes
      ? [
          { name: 'label', dtype: 'string', shape: [null] },
          { name: 'probabilities', dtype: 'float32', shape: [null, classes.length] },
        ]
      : [{ name: 'prediction', dtype: 'float32', shape: [null, 1] }],
    columns: features.map((f) => ({
      name: f.name,
      kind: f.kind,
      sourceType: f.sourceType,
      nullable: true,
      ...(f.kind === 'categorical' ? { categories: byName.get(f.name) ?? [] } : {}),
      ...(ranges.has(f.name) ? { range: ranges.get(f.name)! } : {}),
    })),
    task: classes ? 'classification' : 'regression',
    target,
    classes,
  }
}

/** Serializes the model and its preprocessing to ONNX bytes. */
export function exportOnnx(
  weights: ModelWeights,
  preprocessing: Preprocessing,
  features: FeatureColumn[],
  target: string,
  meta: Record<string, string> = {},
): { bytes: Uint8Array; signature: ModelSignature } {
  const signature = buildSignature(features, preprocessing, target)
  const nodes: Node[] = []
  const initializers: Tensor[] = []
  let counter = 0
  const fresh = (base: string) => `${base}_${counter++}`
  const node = (opType: string, inputs: string[], outputs: [string], attributes: ReturnType<typeof attr>[] = [], domain = ''): string => {
    nodes.push(onnx.NodeProto.create({ opType, input: inputs, output: outputs, name: fresh(opType), attribute: attributes, domain }))
    return outputs[0]
  }

  const blocks: string[] = []
  if (preprocessing.numeric.length > 0) {
    const k = preprocessing.numeric.length
    const raw = node(
      'Concat',
      preprocessing.numeric.map((n) => n.name),
      [fresh('numeric_raw')],
      [attr('axis', 1)],
    )
    initializers.push(
      floatTensor(
        'numeric_mean',
        [k],
        preprocessing.numeric.map((n) => n.mean),
      ),
    )
    initializers.push(
      floatTensor(
        'numeric_std',
        [k],
        preprocessing.numeric.map((n) => n.std),
      ),
    )
    const missing = node('IsNaN', [raw], [fresh('numeric_missing')])
    const imputed = node('Where', [missing, 'numeric_mean', raw], [fresh('numeric_imputed')])
    const centered = node('Sub', [imputed, 'numeric_mean'], [fresh('numeric_centered')])
    blocks.push(node('Div', [centered, 'numeric_std'], [fresh('numeric_scaled')]))
  }
  for (const c of preprocessing.categorical) {
    const depth = c.vocabulary.length + 1
    // Slot 0 is "unknown or missing": anything not in the training vocabulary.
    const keys = c.vocabulary.length > 0 ? c.vocabulary : ['\u0000no-vocabulary']
    const values = c.vocabulary.length > 0 ? c.vocabulary.map((_, i) => i + 1) : [0]
    const code = node(
      'LabelEncoder',
      [c.name],
      [fresh(`${c.name}_code`)],
      [attr('keys_strings', keys), attr('values_int64s', values), attr('default_int64', 0)],
      'ai.onnx.ml',
    )
    const depthName = fresh('depth')
    initializers.push(int64Tensor(depthName, [], [depth]))
    const onOff = fresh('on_off')
    initializers.push(floatTensor(onOff, [2], [0, 1]))
    const hot = node('OneHot', [code, depthName, onOff], [fresh(`${c.name}_onehot3d`)], [attr('axis', -1)])
    const shape = fresh('shape')
    initializers.push(int64Tensor(shape, [2], [-1, depth]))
    blocks.push(node('Reshape', [hot, shape], [fresh(`${c.name}_onehot`)]))
  }
  let h = blocks.length === 1 ? blocks[0]! : node('Concat', blocks, [fresh('design')], [attr('axis', 1)])

  weights.layers.forEach((layer, i) => {
    initializers.push(floatTensor(`dense${i}_kernel`, [layer.inputs, layer.outputs], layer.kernel))
    initializers.push(floatTensor(`dense${i}_bias`, [layer.outputs], layer.bias))
    h = node('MatMul', [h, `dense${i}_kernel`], [fresh(`dense${i}_matmul`)])
    h = node('Add', [h, `dense${i}_bias`], [fresh(`dense${i}_out`)])
    if (i < weights.layers.length - 1) {
      const op = weights.activation === 'relu' ? 'Relu' : weights.activation === 'tanh' ? 'Tanh' : 'Sigmoid'
      h = node(op, [h], [fresh(`dense${i}_act`)])
    }
  })

  if (preprocessing.classes) {
    node('Softmax', [h], ['probabilities'], [attr('axis', 1)])
    const index = node('ArgMax', ['probabilities'], [fresh('class_index')], [attr('axis', 1), attr('keepdims', 0)])
    initializers.push(stringTensor('class_names', preprocessing.classes))
    node('Gather', ['class_names', index], ['label'], [attr('axis', 0)])
  } else {
    const scale = preprocessing.targetScale!
    initializers.push(floatTensor('target_std', [1], [scale.std]))
    initializers.push(floatTensor('target_mean', [1], [scale.mean]))
    const scaled = node('Mul', [h, 'target_std'], [fresh('prediction_scaled')])
    node('Add', [scaled, 'target_mean'], ['prediction'])
  }

  const graph = onnx.GraphProto.create({
    name: 'lathe_tabular',
    node: nodes,
    initializer: initializers,
    input: signature.inputs.map(valueInfo),
    output: signature.outputs.map(valueInfo),
  })
  const model = onnx.ModelProto.create({
    irVersion: 8,
    producerName: 'lathe',
    producerVersion: meta.appVersion ?? '',
    graph,
    opsetImport: [onnx.OperatorSetIdProto.create({ domain: '', version: OPSET }), onnx.OperatorSetIdProto.create({ domain: 'ai.onnx.ml', version: ML_OPSET })],
    metadataProps: Object.entries(meta).map(([key, value]) => onnx.StringStringEntryProto.create({ key, value })),
  })
  return { bytes: onnx.ModelProto.encode(model).finish(), signature }
}
