import { execFileSync } from 'node:child_process'
import path from 'node:path'

/**
 * Runs `bench/peers/drift_scipy.py` (SciPy, Debian's interpreter) on two CSV files and
 * returns its per-column statistics: the independent reference the drift numbers are
 * held against.
 */
export interface ScipyColumn {
  kind: 'numeric' | 'categorical'
  ks_statistic?: number
  ks_pvalue?: number
  wasserstein_normed?: number
  psi?: number
  chi2_statistic?: number
  chi2_pvalue?: number
  jensenshannon?: number
}

export const peersDir = path.resolve(import.meta.dirname, '..', '..', '..', 'bench', 'peers')

export function scipyDrift(reference: string, current: string, columns: string[]): Record<string, ScipyColumn> {
  const out = execFileSync('/usr/bin/python3', [`${peersDir}/drift_scipy.py`, reference, current, '--columns', columns.join(',')], {
    encoding: 'utf8',
    cwd: peersDir,
  })
  const lastLine = out.trim().split('\n').pop()!
  return JSON.parse(lastLine).columns
}

/** |a - b| <= 1e-6 |b|, with exact zeros required to match. */
export function relativeError(actual: number, expected: number): number {
  if (expected === 0) return Math.abs(actual)
  return Math.abs(actual - expected) / Math.abs(expected)
}
