import { GateConfig } from '../registry/index.js'
import type { GateSettings } from './stage-specs.js'

/**
 * A `gate:` of lathe.yaml as the registry's gate for the alias. `min`/`max` are metric
 * thresholds; `not_worse_than: METRIC` re-evaluates candidate and current production
 * on the candidate's test split. `primary` (the task's own metric) goes through as
 * the registry's primary-metric option.
 */
export function gateConfigOf(gate: GateSettings): GateConfig {
  const thresholds = [
    ...Object.entries(gate.min ?? {}).map(([metric, value]) => ({ metric, op: '>=' as const, value })),
    ...Object.entries(gate.max ?? {}).map(([metric, value]) => ({ metric, op: '<=' as const, value })),
  ]
  const rule = typeof gate.not_worse_than === 'string' ? { metric: gate.not_worse_than } : gate.not_worse_than
  return GateConfig.parse({
    thresholds,
    noWorseThan: rule ? { metric: rule.metric, tolerance: rule.tolerance ?? 0 } : null,
    ...(gate.signature !== undefined ? { signatureCompatible: gate.signature } : {}),
    ...(gate.data_validation !== undefined ? { dataValidation: gate.data_validation } : {}),
  })
}
