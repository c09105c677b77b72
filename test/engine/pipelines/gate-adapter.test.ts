import { describe, expect, it } from 'vitest'
import { gateConfigOf } from '../../../src-main/engine/pipelines/gate-adapter.js'

describe("a lathe.yaml gate as the registry's", () => {
  it("the example's min and not_worse_than become a threshold and a re-evaluation against current", () => {
    expect(gateConfigOf({ min: { 'test.accuracy': 0.6 }, not_worse_than: 'accuracy' })).toEqual({
      thresholds: [{ metric: 'test.accuracy', op: '>=', value: 0.6 }],
      noWorseThan: { metric: 'accuracy', tolerance: 0 },
      signatureCompatible: true,
      dataValidation: true,
    })
  })

  it("max, a tolerance, true for the task's primary metric, and the checks that can be turned off", () => {
    expect(gateConfigOf({ max: { 'test.rmse': 3 }, not_worse_than: { metric: 'rmse', tolerance: 0.1 }, signature: false })).toMatchObject({
      thresholds: [{ metric: 'test.rmse', op: '<=', value: 3 }],
      noWorseThan: { metric: 'rmse', tolerance: 0.1 },
      signatureCompatible: false,
    })
    expect(gateConfigOf({ not_worse_than: true }).noWorseThan).toEqual({ metric: 'primary', tolerance: 0 })
    expect(gateConfigOf({ not_worse_than: false, data_validation: false })).toMatchObject({ noWorseThan: null, dataValidation: false })
  })
})
