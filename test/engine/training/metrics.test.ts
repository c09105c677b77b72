import { execFileSync } from 'node:child_process'
import { describe, expect, test } from 'vitest'
import { classificationMetrics, regressionMetrics } from '../../../src-main/engine/training/metrics.js'

/** scikit-learn (Debian python3-sklearn) on the same arrays: the reference values. */
function sklearn(script: string, data: unknown): Record<string, number> {
  const out = execFileSync('/usr/bin/python3', ['-c', script], { input: JSON.stringify(data), encoding: 'utf8' })
  return JSON.parse(out.trim().split('\n').at(-1)!) as Record<string, number>
}

const classificationScript = `
import json, sys
import numpy as np
from sklearn import metrics as m
d = json.load(sys.stdin)
y = np.array(d['y']); p = np.array(d['p']).reshape(len(y), d['c']); pred = p.argmax(1)
out = dict(accuracy=m.accuracy_score(y, pred),
  precision=m.precision_score(y, pred, average='macro', zero_division=0),
  recall=m.recall_score(y, pred, average='macro', zero_division=0),
  f1=m.f1_score(y, pred, average='macro', zero_division=0),
  log_loss=m.log_loss(y, p, labels=list(range(d['c']))))
if d['c'] == 2: out['roc_auc'] = m.roc_auc_score(y, p[:, 1])
out['confusion'] = m.confusion_matrix(y, pred, labels=list(range(d['c']))).tolist()
print(json.dumps(out))
`

function randomProbabilities(n: number, classes: number, seed: number): { y: number[]; p: number[] } {
  let s = seed
  const rnd = () => (s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31
  const y: number[] = []
  const p: number[] = []
  for (let i = 0; i < n; i++) {
    const label = Math.floor(rnd() * classes)
    y.push(label)
    const raw = Array.from({ length: classes }, (_, c) => rnd() + (c === label ? 0.6 : 0))
    const sum = raw.reduce((a, b) => a + b, 0)
    p.push(...raw.map((v) => v / sum))
  }
  return { y, p }
}

describe('metrics agree with scikit-learn', () => {
  test('binary classification, ties in the scores included', () => {
    const { y, p } = randomProbabilities(300, 2, 1)
    // Round scores to create ties, which ROC AUC must count half.
    const tied = p.map((v) => Math.round(v * 20) / 20)
    const ours = classificationMetrics(y, tied, 2)
    const ref = sklearn(classificationScript, { y, p: tied, c: 2 }) as Record<string, number> & { confusion: unknown }
    for (const k of ['accuracy', 'precision', 'recall', 'f1', 'log_loss', 'roc_auc']) expect(ours.values[k]).toBeCloseTo(ref[k]!, 10)
    expect(ours.confusion).toEqual(ref.confusion)
  })

  test('multi-class with a class never predicted', () => {
    const { y, p } = randomProbabilities(200, 4, 2)
    for (let i = 0; i < y.length; i++) p[i * 4 + 3] = 0 // class 3 never wins
    const ours = classificationMetrics(y, p, 4)
    const ref = sklearn(classificationScript, { y, p, c: 4 }) as Record<string, number> & { confusion: unknown }
    for (const k of ['accuracy', 'precision', 'recall', 'f1', 'log_loss']) expect(ours.values[k]).toBeCloseTo(ref[k]!, 10)
    expect(ours.values.roc_auc).toBeUndefined()
    expect(ours.confusion).toEqual(ref.confusion)
  })

  test('regression: RMSE, MAE, R2', () => {
    const yTrue = Array.from({ length: 100 }, (_, i) => Math.sin(i) * 10 + i / 7)
    const yPred = yTrue.map((v, i) => v + Math.cos(i * 3) * 2)
    const ours = regressionMetrics(yTrue, yPred)
    const ref = sklearn(
      `
import json, sys
from sklearn import metrics as m
d = json.load(sys.stdin)
print(json.dumps(dict(rmse=m.mean_squared_error(d['t'], d['p']) ** 0.5, mae=m.mean_absolute_error(d['t'], d['p']), r2=m.r2_score(d['t'], d['p']))))
`,
      { t: yTrue, p: yPred },
    )
    for (const k of ['rmse', 'mae', 'r2']) expect(ours[k]).toBeCloseTo(ref[k]!, 10)
  })
})
