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
 * What "the prediction" of a row is: the label for Lathe classifiers, the number for
 * regressors, the single output's row for imported models, or an object of all
 * outputs when a model has several.
 */
export function rowPredictions(outputs: BatchOutputs, signature: ModelSignature, rows: number): RowPrediction[] {
  const byName = new Map(outputs.map((o) => [o.name, o]))
  const label = byName.get('label')
  const probabilities = byName.get('probabilities')
  const regression = byName.get('prediction')
  const result: RowPrediction[] = new Array(rows)
  for (let r = 0; r < rows; r++) {
    let prediction: unknown
    if (signature.task === 'classification' && label) prediction = cell(label, r)
    else if (signature.task === 'regression' && regression) prediction = cell(regression, r)
    else if (outputs.length === 1) prediction = cell(outputs[0]!, r)
    else prediction = Object.fromEntries(outputs.map((o) => [o.name, cell(o, r)]))
    const probs = signature.task === 'classification' && probabilities ? (cell(probabilities, r) as number[]) : null
    result[r] = { prediction, probabilities: Array.isArray(probs) ? probs : probs === null ? null : [probs] }
  }
  return result
}

export function mlflowBody(
  predictions: RowPrediction[],
  signature: ModelSignature,
  requestId: string,
  withProbabilities: boolean,
): Record<string, unknown> {
  const body: Record<string, unknown> = { predictions: predictions.map((p) => p.prediction) }
  if (withProbabilities && signature.task === 'classification') {
    body.probabilities = predictions.map((p) => p.probabilities)
    body.classes = signature.classes
  }
  body.request_id = requestId
  return body
}

export function v2Body(
  outputs: BatchOutputs,
  model: string,
  version: number,
  requestId: string,
  wanted: string[] | null,
): Record<string, unknown> {
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
