import { useEffect, useState } from 'react'
import type { ModelSignature } from '../../../../src-main/engine/api/common/signature.js'
import { api, type Output } from '../../api.js'
import { FieldError, notifyError } from '../common/index.js'
import { exampleTensorBody, exampleValues, recordFrom, type FormValues } from './examples.js'
import './serving.css'

type Answer = Output<'serving.invoke'>

/**
 * A form generated from the model's signature: one field per column (a list for
 * known categories), sent to the running endpoint's v2 infer route exactly as a
 * client would (through the engine, which calls its own endpoint over HTTP).
 */
export function TryIt({ model, signature, running }: { model: string; signature: ModelSignature; running: boolean }) {
  const [values, setValues] = useState<FormValues>(() => exampleValues(signature))
  const [answer, setAnswer] = useState<Answer | null>(null)
  const [busy, setBusy] = useState(false)
  // The page polls deployments, so `signature` is a new object every few seconds: reset
  // the form only when the model or what it takes really changes, not under the user's typing.
  const signatureKey = JSON.stringify(signature)
  useEffect(() => {
    setValues(exampleValues(signature))
    setAnswer(null)
  }, [model, signatureKey])

  if (!signature.columns) return <TryTensor model={model} signature={signature} running={running} />
  const { record, problems } = recordFrom(signature, values)
  // The endpoint's refusal of one column (a value float32 cannot hold) goes next to that field.
  const refused = answer && answer.status !== 200 ? (answer.body as { error?: string; field?: string }) : null
  const refusedField = refused?.field && signature.columns.some((c) => c.name === refused.field) ? refused.field : null

  const send = async () => {
    setBusy(true)
    try {
      setAnswer(await api.call('serving.invoke', { path: `/v2/models/${encodeURIComponent(model)}/infer`, body: v2Body(signature, record) }))
    } catch (error) {
      notifyError(error)
    } finally {
      setBusy(false)
    }
  }

  return (
    <form
      aria-label="Try it"
      onSubmit={(e) => {
        e.preventDefault()
        void send()
      }}
    >
      <div className="toolbar">
        {signature.columns.map((c) => (
          <label key={c.name} className="field">
            {c.name}
            {c.kind === 'categorical' && c.categories && c.categories.length > 0 ? (
              <select aria-label={c.name} value={values[c.name] ?? ''} onChange={(e) => setValues({ ...values, [c.name]: e.target.value })}>
                {c.nullable && <option value="">(missing)</option>}
                {c.categories.map((v) => (
                  <option key={v} value={v}>
                    {v}
                  </option>
                ))}
              </select>
            ) : (
              <input
                aria-label={c.name}
                aria-invalid={problems[c.name] || refusedField === c.name ? true : undefined}
                inputMode={c.kind === 'numeric' ? 'decimal' : 'text'}
                value={values[c.name] ?? ''}
                size={10}
                onChange={(e) => {
                  setValues({ ...values, [c.name]: e.target.value })
                  if (refusedField === c.name) setAnswer(null)
                }}
              />
            )}
            {problems[c.name] && <span className="error">{problems[c.name]}</span>}
            {!problems[c.name] && refusedField === c.name && <FieldError message={sentenceOf(refused!.error ?? '')} />}
          </label>
        ))}
        <button className="btn btn-primary" type="submit" disabled={!running || busy || Object.keys(problems).length > 0}>
          Predict
        </button>
      </div>
      {!running && <p className="muted">Start the endpoint to try the model.</p>}
      {answer && <AnswerView answer={answer} signature={signature} />}
    </form>
  )
}

/** "column "x" in row 0 is 1e+308, ..." reads as a sentence under its field. */
function sentenceOf(text: string): string {
  const t = text.trim()
  return t ? `${t[0]!.toUpperCase()}${t.slice(1)}${/[.!?]$/.test(t) ? '' : '.'}` : t
}

function v2Body(signature: ModelSignature, record: Record<string, unknown>) {
  return {
    inputs: signature.columns!.map((c, i) => ({
      name: c.name,
      shape: [1, 1],
      datatype: signature.inputs[i]?.dtype === 'string' ? 'BYTES' : 'FP32',
      data: [record[c.name] ?? null],
    })),
  }
}

function AnswerView({ answer, signature }: { answer: Answer; signature: ModelSignature }) {
  const body = answer.body as { outputs?: Array<{ name: string; data: unknown[] }>; error?: string }
  const ok = answer.status === 200 && Array.isArray(body.outputs)
  const label = body.outputs?.find((o) => o.name === 'label' || o.name === 'output_label')
  const prediction = label ?? body.outputs?.find((o) => o.name === 'prediction') ?? body.outputs?.[0]
  const probabilities = body.outputs?.find((o) => o.name === 'probabilities' || o.name === 'output_probability')
  return (
    <div role="region" aria-label="Prediction" className="card prediction">
      <div className="toolbar spread">
        <span>
          HTTP {answer.status} in {answer.latencyMs.toFixed(1)} ms
        </span>
        <span className="muted mono">request id {answer.requestId}</span>
      </div>
      {ok ? (
        <>
          <p>
            Prediction: <strong data-testid="prediction">{String(prediction?.data[0])}</strong>
          </p>
          {probabilities && (
            <ul>
              {(probabilities.data as number[]).map((p, k) => (
                <li key={k}>
                  {signature.classes?.[k] ?? k}: {(p * 100).toFixed(1)}%
                </li>
              ))}
            </ul>
          )}
        </>
      ) : (
        <p className="error">{body.error ?? JSON.stringify(answer.body)}</p>
      )}
    </div>
  )
}

/** Tensor models (no columns): the v2 request body itself, editable, prefilled with one row. */
function TryTensor({ model, signature, running }: { model: string; signature: ModelSignature; running: boolean }) {
  const [text, setText] = useState(() => JSON.stringify(exampleTensorBody(signature), null, 2))
  const [answer, setAnswer] = useState<Answer | null>(null)
  const [problem, setProblem] = useState<string | null>(null)
  const signatureKey = JSON.stringify(signature)
  useEffect(() => {
    setText(JSON.stringify(exampleTensorBody(signature), null, 2))
    setAnswer(null)
  }, [model, signatureKey])
  return (
    <form
      aria-label="Try it"
      onSubmit={(e) => {
        e.preventDefault()
        let body: unknown
        try {
          body = JSON.parse(text)
        } catch (error) {
          setProblem(`not JSON: ${(error as Error).message}`)
          return
        }
        setProblem(null)
        api.call('serving.invoke', { path: `/v2/models/${encodeURIComponent(model)}/infer`, body }).then(setAnswer, notifyError)
      }}
    >
      <label className="field field-wide">
        v2 request body ({signature.inputs.map((i) => `${i.name} [${i.shape.map((d) => d ?? 'N').join(', ')}]`).join(', ')})
        <textarea aria-label="Request body" className="mono" rows={8} value={text} onChange={(e) => setText(e.target.value)} />
      </label>
      {problem && <p className="error">{problem}</p>}
      <button className="btn btn-primary submit-row" type="submit" disabled={!running}>
        Predict
      </button>
      {answer && (
        <div role="region" aria-label="Prediction" className="card prediction">
          <span>
            HTTP {answer.status} in {answer.latencyMs.toFixed(1)} ms, request id <span className="mono">{answer.requestId}</span>
          </span>
          <pre className="mono wrap-pre">{JSON.stringify(answer.body, null, 2)}</pre>
        </div>
      )}
    </form>
  )
}
