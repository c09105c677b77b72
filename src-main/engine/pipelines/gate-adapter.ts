import { GateConfig, PRIMARY_METRIC } from '../registry/index.js'
import type { GateSettings } from './stage-specs.js'

/**
 * A `gate:` of lathe.yaml as the registry's gate for the alias. `min`/`max` are metric
 * thresholds; `not_worse_than: METRIC` re-evaluates candidate and current production
 * on the candidate's test split; `primary` or `true` is the registry's primary-metric
 * option (accuracy for classification, rmse for regression).
 */
export function gateConfigOf(gate: GateSettings): GateConfig {
  const thresholds = [
    ...Object.entries(gate.min ?? {}).map(([metric, value]) => ({ metric, op: '>=' as const, value })),
    ...Object.entries(gate.max ?? {}).map(([metric, value]) => ({ metric, op: '<=' as const, value })),
  ]
  const named = gate.not_worse_than === true ? PRIMARY_METRIC : gate.not_worse_than
  const rule = typeof named === 'string' ? { metric: named } : named || undefined
  return GateConfig.parse({
    thresholds,
    noWorseThan: rule ? { metric: rule.metric, tolerance: rule.tolerance ?? 0 } : null,
    ...(gate.signature !== undefined ? { signatureCompatible: gate.signature } : {}),
    ...(gate.data_validation !== undefined ? { dataValidation: gate.data_validation } : {}),
  })
}
