import type { Output } from '../../api.js'
import { formatNumber } from '../common/index.js'

/** A run as the list answers it; the confusion matrix and model details come with `training.runs.show`. */
export type RunRecord = Output<'training.runs.list'>['runs'][number]
export type MetricSeries = Output<'training.runs.show'>['series']

export function formatMetric(value: number | undefined | null): string {
  if (value === undefined || value === null || !Number.isFinite(value)) return ''
  return formatNumber(value)
}

/** The headline metric of a run's task. */
export function headlineMetric(run: RunRecord): 'accuracy' | 'rmse' {
  return run.task === 'classification' ? 'accuracy' : 'rmse'
}

export function statusBadge(status: RunRecord['status']): string {
  return status === 'finished' ? 'badge badge-ok' : status === 'failed' ? 'badge badge-bad' : status === 'cancelled' ? 'badge' : 'badge badge-warn'
}
