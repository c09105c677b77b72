import { useEffect, useState } from 'react'
import { api } from '../../api.js'
import { useEngineEvents } from '../common/index.js'
import type { MetricSeries } from './format.js'

/**
 * A run's metric series: loaded once, then grown from `training.progress` events
 * while the run trains, so the curves move without polling.
 */
export function useLiveSeries(runId: string | null): MetricSeries {
  const [series, setSeries] = useState<MetricSeries>({})
  useEffect(() => {
    setSeries({})
    if (!runId) return
    let current = true
    api.call('training.runs.show', { run: runId }).then(
      (r) => {
        if (!current) return
        // Points that arrived by event before the load answered are kept.
        setSeries((live) => merge(r.series, live))
      },
      () => undefined,
    )
    return () => {
      current = false
    }
  }, [runId])
  useEngineEvents(['training.progress'], (event) => {
    const p = event.payload as { runId: string; epoch: number; batch?: number; loss: number; metrics: Record<string, number> }
    // In-epoch progress (batch set) carries a partial loss; curves plot whole epochs.
    if (p.runId !== runId || p.batch !== undefined) return
    setSeries((s) => merge(s, Object.fromEntries(Object.entries({ loss: p.loss, ...p.metrics }).map(([k, v]) => [k, [{ step: p.epoch, value: v }]]))))
  })
  return series
}

function merge(a: MetricSeries, b: MetricSeries): MetricSeries {
  const out: MetricSeries = { ...a }
  for (const [name, points] of Object.entries(b)) {
    const byStep = new Map((out[name] ?? []).map((p) => [p.step, p]))
    for (const p of points) byStep.set(p.step, p)
    out[name] = [...byStep.values()].sort((x, y) => x.step - y.step)
  }
  return out
}
