import type { ModelSignature } from '../../../../src-main/engine/api/common/signature.js'

/** Pure helpers for the Serving page: example rows and the curl a user can paste. */

export type FormValues = Record<string, string>

/** A plausible first row for the "try it" form: the first known category, 0 for numbers. */
export function exampleValues(signature: ModelSignature): FormValues {
  const values: FormValues = {}
  for (const c of signature.columns ?? []) values[c.name] = c.kind === 'numeric' ? '0' : (c.categories?.[0] ?? '')
  return values
}

/** The form's text fields as one record: numbers parsed, an empty field as a missing value. */
export function recordFrom(signature: ModelSignature, values: FormValues): { record: Record<string, unknown>; problems: Record<string, string> } {
  const record: Record<string, unknown> = {}
  const problems: Record<string, string> = {}
  for (const c of signature.columns ?? []) {
    const text = (values[c.name] ?? '').trim()
    if (c.kind === 'numeric') {
      if (text === '') record[c.name] = null
      else if (Number.isFinite(Number(text))) record[c.name] = Number(text)
      else problems[c.name] = 'not a number'
    } else {
      record[c.name] = text === '' && c.nullable ? null : text
    }
  }
  return { record, problems }
}

function shellQuote(text: string): string {
  return `'${text.replaceAll("'", `'\\''`)}'`
}

export function curlExample(url: string, model: string, isDefault: boolean, signature: ModelSignature, token: string | null): string {
  const auth = token ? ` \\\n  -H ${shellQuote(`Authorization: Bearer ${token}`)}` : ''
  if (signature.columns) {
    const { record } = recordFrom(signature, exampleValues(signature))
    const path = isDefault ? '/invocations' : `/v2/models/${model}/infer`
    const body = isDefault
      ? { dataframe_records: [record] }
      : {
          inputs: signature.columns.map((c) => ({ name: c.name, shape: [1, 1], datatype: c.kind === 'numeric' ? 'FP32' : 'BYTES', data: [record[c.name]] })),
        }
    return `curl -s ${url}${path} \\\n  -H 'Content-Type: application/json'${auth} \\\n  -d ${shellQuote(JSON.stringify(body))}`
  }
  const body = exampleTensorBody(signature)
  return `curl -s ${url}/v2/models/${model}/infer \\\n  -H 'Content-Type: application/json'${auth} \\\n  -d ${shellQuote(JSON.stringify(body))}`
}

const v2Types: Record<string, string> = { float32: 'FP32', float64: 'FP64', int64: 'INT64', int32: 'INT32', string: 'BYTES', bool: 'BOOL' }

/** A v2 infer body of one row of zeros (or empty strings) for every input of a tensor model. */
export function exampleTensorBody(signature: ModelSignature): { inputs: Array<{ name: string; shape: number[]; datatype: string; data: unknown[] }> } {
  return {
    inputs: signature.inputs.map((input) => {
      const shape = input.shape.map((d) => d ?? 1)
      const size = shape.reduce((a, b) => a * b, 1)
      const datatype = v2Types[input.dtype] ?? input.dtype.toUpperCase()
      return { name: input.name, shape, datatype, data: Array(size).fill(datatype === 'BYTES' ? '' : datatype === 'BOOL' ? false : 0) }
    }),
  }
}
