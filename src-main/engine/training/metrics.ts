/**
 * Model quality metrics as pure functions over typed arrays, shared by training,
 * the registry's promotion gates and monitoring's quality checks.
 *
 * Classification takes true class indices and a row-major probability matrix
 * [n, classes]; the predicted class is the arg max (first on ties).
 */

type Numbers = ArrayLike<number>

export function argmaxRows(probabilities: Numbers, classes: number): Int32Array {
  const n = probabilities.length / classes
  const out = new Int32Array(n)
  for (let i = 0; i < n; i++) {
    let best = 0
    let bestValue = probabilities[i * classes]!
    for (let c = 1; c < classes; c++) {
      const v = probabilities[i * classes + c]!
      if (v > bestValue) {
        bestValue = v
        best = c
      }
    }
    out[i] = best
  }
  return out
}

/** Rows are true classes, columns predicted classes. */
export function confusionMatrix(yTrue: Numbers, yPred: Numbers, classes: number): number[][] {
  const m = Array.from({ length: classes }, () => new Array<number>(classes).fill(0))
  for (let i = 0; i < yTrue.length; i++) m[yTrue[i]!]![yPred[i]!]!++
  return m
}

export function accuracy(yTrue: Numbers, yPred: Numbers): number {
  if (yTrue.length === 0) return NaN
  let hits = 0
  for (let i = 0; i < yTrue.length; i++) if (yTrue[i] === yPred[i]) hits++
  return hits / yTrue.length
}

/**
 * Macro-averaged precision, recall and F1 over the classes present in the truth or
 * the predictions (a class absent from both says nothing about the model); a class
 * with no predicted rows has precision 0, as in scikit-learn's zero_division=0.
 */
export function macroPrecisionRecallF1(yTrue: Numbers, yPred: Numbers, classes: number): { precision: number; recall: number; f1: number } {
  const m = confusionMatrix(yTrue, yPred, classes)
  let p = 0
  let r = 0
  let f = 0
  let counted = 0
  for (let c = 0; c < classes; c++) {
    let predicted = 0
    let actual = 0
    for (let k = 0; k < classes; k++) {
      predicted += m[k]![c]!
      actual += m[c]![k]!
    }
    if (predicted === 0 && actual === 0) continue
    const tp = m[c]![c]!
    const precision = predicted === 0 ? 0 : tp / predicted
    const recall = actual === 0 ? 0 : tp / actual
    p += precision
    r += recall
    f += precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall)
    counted++
  }
  if (counted === 0) return { precision: NaN, recall: NaN, f1: NaN }
  return { precision: p / counted, recall: r / counted, f1: f / counted }
}

/** Binary ROC AUC from the positive class's scores (ties count half: Mann-Whitney U). */
export function rocAuc(yTrue: Numbers, positiveScore: Numbers): number {
  const n = yTrue.length
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => positiveScore[a]! - positiveScore[b]!)
  let positives = 0
  let rankSum = 0
  let i = 0
  while (i < n) {
    let j = i
    while (j + 1 < n && positiveScore[order[j + 1]!] === positiveScore[order[i]!]) j++
    const averageRank = (i + j) / 2 + 1
    for (let k = i; k <= j; k++) {
      if (yTrue[order[k]!] === 1) {
        positives++
        rankSum += averageRank
      }
    }
    i = j + 1
  }
  const negatives = n - positives
  if (positives === 0 || negatives === 0) return NaN
  return (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives)
}

/**
 * Mean negative log-likelihood of the true class. A true class the model has no output
 * for (one its training split lacked) has probability 0, clipped to eps like any other. Probabilities are clipped to
 * [eps, 1 - eps] (float64 eps) and each row renormalized, as scikit-learn 1.2 (Debian's) does,
 * so that a zero probability costs a finite amount.
 */
export function logLoss(yTrue: Numbers, probabilities: Numbers, classes: number): number {
  if (yTrue.length === 0) return NaN
  const eps = Number.EPSILON
  let total = 0
  for (let i = 0; i < yTrue.length; i++) {
    let rowSum = 0
    for (let c = 0; c < classes; c++) rowSum += Math.min(1 - eps, Math.max(eps, probabilities[i * classes + c]!))
    const known = yTrue[i]! < classes
    const p = Math.min(1 - eps, Math.max(eps, known ? probabilities[i * classes + yTrue[i]!]! : 0)) / rowSum
    total -= Math.log(p)
  }
  return total / yTrue.length
}

export function rmse(yTrue: Numbers, yPred: Numbers): number {
  let s = 0
  for (let i = 0; i < yTrue.length; i++) s += (yTrue[i]! - yPred[i]!) ** 2
  return Math.sqrt(s / yTrue.length)
}

export function mae(yTrue: Numbers, yPred: Numbers): number {
  let s = 0
  for (let i = 0; i < yTrue.length; i++) s += Math.abs(yTrue[i]! - yPred[i]!)
  return s / yTrue.length
}

export function r2(yTrue: Numbers, yPred: Numbers): number {
  let mean = 0
  for (let i = 0; i < yTrue.length; i++) mean += yTrue[i]!
  mean /= yTrue.length
  let residual = 0
  let total = 0
  for (let i = 0; i < yTrue.length; i++) {
    residual += (yTrue[i]! - yPred[i]!) ** 2
    total += (yTrue[i]! - mean) ** 2
  }
  return total === 0 ? NaN : 1 - residual / total
}

/**
 * Every classification metric Lathe reports, by name, plus the confusion matrix.
 * `probabilities` has one column per model class; `labels` (default: the same) may be
 * more: true classes at index >= `classes` are ones the model never saw, so they are
 * always predicted wrong, count in the macro averages with recall 0, and keep a row of
 * their own in the confusion matrix (square over `labels`).
 */
export function classificationMetrics(
  yTrue: Numbers,
  probabilities: Numbers,
  classes: number,
  labels = classes,
): { values: Record<string, number>; confusion: number[][] } {
  const yPred = argmaxRows(probabilities, classes)
  const { precision, recall, f1 } = macroPrecisionRecallF1(yTrue, yPred, labels)
  const values: Record<string, number> = {
    accuracy: accuracy(yTrue, yPred),
    precision,
    recall,
    f1,
    log_loss: logLoss(yTrue, probabilities, classes),
  }
  if (classes === 2) {
    // Over the rows whose class the model knows: an unseen class is neither positive nor negative.
    const truth: number[] = []
    const positive: number[] = []
    for (let i = 0; i < yTrue.length; i++) {
      if (yTrue[i]! >= classes) continue
      truth.push(yTrue[i]!)
      positive.push(probabilities[i * 2 + 1]!)
    }
    values.roc_auc = rocAuc(truth, positive)
  }
  return { values: dropNaN(values), confusion: confusionMatrix(yTrue, yPred, labels) }
}

export function regressionMetrics(yTrue: Numbers, yPred: Numbers): Record<string, number> {
  return dropNaN({ rmse: rmse(yTrue, yPred), mae: mae(yTrue, yPred), r2: r2(yTrue, yPred) })
}

/** Whether a larger value of the metric is better (for early stopping and sweeps). */
export function higherIsBetter(metric: string): boolean {
  const name = metric.replace(/^val_|^test_/, '')
  return ['accuracy', 'precision', 'recall', 'f1', 'roc_auc', 'r2'].includes(name)
}

// Undefined metrics (AUC with one class present) are left out rather than sent as NaN,
// which JSON cannot carry.
function dropNaN(values: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(values).filter(([, v]) => Number.isFinite(v)))
}
