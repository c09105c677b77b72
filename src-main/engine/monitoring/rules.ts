import type { DriftReport } from './drift/report.js'
import type { QualityResult } from './quality.js'
import type { AlertRule, ComparisonOp, ReportValues } from './types.js'

/**
 * The values a report yields, flat by name, which alert rules compare:
 *   dataset_drift (0/1), drift_share, drifted_features,
 *   feature.<name>.<statistic|p_value|drifted|psi|...>, prediction.<...>,
 *   quality.<metric>, quality.labelled, traffic.<requests|error_rate|p99_latency_ms|...>
 */
export function reportValues(drift: DriftReport | null, quality: QualityResult | null, traffic: Record<string, number>): ReportValues {
  const values: ReportValues = {}
  if (drift) {
    values.dataset_drift = drift.dataset_drift ? 1 : 0
    values.drift_share = drift.drift_share
    values.drifted_features = drift.drifted_features
    values['current.rows'] = drift.current.rows
    const features = drift.prediction ? [...drift.features, drift.prediction] : drift.features
    for (const feature of features) {
      const prefix = feature.name === 'prediction' && feature === drift.prediction ? 'prediction' : `feature.${feature.name}`
      for (const [key, value] of Object.entries(feature)) {
        if (typeof value === 'number' && Number.isFinite(value)) values[`${prefix}.${key}`] = value
        else if (typeof value === 'boolean') values[`${prefix}.${key}`] = value ? 1 : 0
      }
    }
  }
  if (quality) {
    values['quality.labelled'] = quality.labelled
    for (const [name, value] of Object.entries(quality.metrics ?? {})) values[`quality.${name}`] = value
  }
  for (const [name, value] of Object.entries(traffic)) values[`traffic.${name}`] = value
  return values
}

export function compare(value: number, op: ComparisonOp, threshold: number): boolean {
  switch (op) {
    case '>':
      return value > threshold
    case '>=':
      return value >= threshold
    case '<':
      return value < threshold
    case '<=':
      return value <= threshold
    case '==':
      return value === threshold
    case '!=':
      return value !== threshold
  }
}

export interface RuleVerdict {
  rule: AlertRule
  value: number | null
  firing: boolean
}

/** A rule whose value the report does not have (no labels yet, an unknown feature) does not fire. */
export function evaluateRules(rules: AlertRule[], values: ReportValues): RuleVerdict[] {
  return rules
    .filter((r) => r.enabled)
    .map((rule) => {
      const value = values[rule.metric]
      return { rule, value: value ?? null, firing: value !== undefined && compare(value, rule.op, rule.threshold) }
    })
}

export function describeAlert(model: string, rule: AlertRule, value: number): string {
  const shown = Number.isInteger(value) ? String(value) : value.toPrecision(4)
  return `${model}: ${rule.name}: ${rule.metric} = ${shown} ${rule.op} ${rule.threshold}`
}

const metricPattern =
  /^(dataset_drift|drift_share|drifted_features|current\.rows|(feature\.[^\s]+|prediction)\.[a-z0-9_]+|quality\.[a-z0-9_]+|traffic\.[a-z0-9_]+)$/

/** A rule on a value no report can have would never fire: refuse it when it is written. */
export function isRuleMetric(metric: string): boolean {
  return metricPattern.test(metric)
}
