import type { DuckDBConnection } from '@duckdb/node-api'
import { LatheError } from '../../api/common/errors.js'
import { checkMethodFits, describeColumns, kindOfType, type DriftOptions, type DriftReport, type FeatureOverride } from './decide.js'
import { exactReport } from './exact.js'
import { onePassReport } from './onepass.js'
import type { TableSource } from './sources.js'

export {
  chooseMethod,
  decide,
  defaultThresholds,
  describeColumns,
  DriftMethod,
  DriftReport,
  FeatureDrift,
  FeatureOverride,
  kindOfType,
  SMALL_SAMPLE_ROWS,
  type DriftOptions,
} from './decide.js'

/**
 * A drift report between a reference and a current table: the features checked against
 * both sides, then the exact path (exact.ts, every statistic) or the one-pass path
 * (onepass.ts, what each method and chart need); both decide and assemble the same way
 * (decide.ts).
 */
export async function computeDriftReport(
  conn: DuckDBConnection,
  reference: TableSource,
  current: TableSource,
  options: DriftOptions = {},
): Promise<DriftReport> {
  const [refColumns, curColumns] = await Promise.all([describeColumns(conn, reference), describeColumns(conn, current)])
  const curNames = new Set(curColumns.map((c) => c.name))
  const refTypes = new Map(refColumns.map((c) => [c.name, c.type]))
  const requested: FeatureOverride[] =
    options.features ?? refColumns.filter((c) => curNames.has(c.name) && !c.name.startsWith('__')).map((c) => ({ name: c.name }))
  for (const feature of requested) {
    if (!refTypes.has(feature.name)) {
      throw new LatheError('bad_request', `the reference (${reference.label}) has no column "${feature.name}"`, { field: 'features' })
    }
    if (!curNames.has(feature.name)) {
      throw new LatheError('bad_request', `the current data (${current.label}) has no column "${feature.name}"`, { field: 'features' })
    }
    if (feature.method && feature.kind) checkMethodFits(feature.name, feature.kind, feature.method)
  }
  const features = requested.map((f) => ({ ...f, kind: f.kind ?? kindOfType(refTypes.get(f.name)!) }))
  for (const f of features) if (f.method) checkMethodFits(f.name, f.kind, f.method)
  if (options.statistics === 'needed') return onePassReport(conn, reference, current, features, options)
  return exactReport(conn, reference, current, features, options)
}
