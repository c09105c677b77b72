import type { ModelSignature } from '../api/common/signature.js'
import type { BatchOutputs, OutputColumn } from './loaded-model.js'
import { v2Datatype } from './payload.js'

/** One row's answer, in the forms the protocols and the prediction log need. */
export interface RowPrediction {
  prediction: unknown
  probabilities: number[] | null
}

function cell(column: OutputColumn, row: number): unknown {
  if (column.width === 1) return plain(column.values[row])
  const out: unknown[] = []
  for (let k = row * column.width; k < (row + 1) * column.width; k++) out.push(plain(column.values[k]))
  return out
}

function plain(value: unknown): unknown {
  if (typeof value === 'bigint') return Number(value)
  if (typeof value === 'number' && !Number.isFinite(value)) return null
  return value
}

/**
 * What "the prediction" of a row is: the label for classifiers (Lathe's `label`, or
 * `output_label` as skl2onnx names it in imported models), the number for
 * regressors, the single output's row for other models, or an object of all outputs
 * when a model has several.
 */
export function rowPredictions(outputs: BatchOutputs, signature: ModelSignature, rows: number): RowPrediction[] {
  const byName = new Map(outputs.map((o) => [o.name, o]))
  const label = byName.get('label') ?? byName.get('output_label')
  const probabilities = label ? (byName.get('probabilities') ?? byName.get('output_probability')) : undefined
  const regression = signature.task === 'regression' ? byName.get('prediction') : undefined
  const result: RowPrediction[] = new Array(rows)
  for (let r = 0; r < rows; r++) {
    let prediction: unknown
    if (label && label.width === 1) prediction = cell(label, r)
    else if (regression) prediction = cell(regression, r)
    else if (outputs.length === 1) prediction = cell(outputs[0]!, r)
    else prediction = Object.fromEntries(outputs.map((o) => [o.name, cell(o, r)]))
    const probs = probabilities ? cell(probabilities, r) : null
    result[r] = { prediction, probabilities: probs === null ? null : Array.isArray(probs) ? (probs as number[]) : [probs as number] }
  }
  return result
}

export function mlflowBody(predictions: RowPrediction[], signature: ModelSignature, requestId: string, withProbabilities: boolean): Record<string, unknown> {
  const body: Record<string, unknown> = { predictions: predictions.map((p) => p.prediction) }
  if (withProbabilities && predictions[0]?.probabilities) {
    body.probabilities = predictions.map((p) => p.probabilities)
    body.classes = signature.classes
  }
  body.request_id = requestId
  return body
}

export function v2Body(outputs: BatchOutputs, model: string, version: number, requestId: string, wanted: string[] | null): Record<string, unknown> {
  return {
    model_name: model,
    model_version: String(version),
    id: requestId,
    outputs: outputs
      .filter((o) => wanted === null || wanted.includes(o.name))
      .map((o) => ({
        name: o.name,
        datatype: v2Datatype(o.dtype),
        shape: [...o.dims],
        data: Array.from(o.values as ArrayLike<unknown>, plain),
      })),
  }
}
