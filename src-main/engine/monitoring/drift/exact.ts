import { randomUUID } from 'node:crypto'
import type { DuckDBConnection } from '@duckdb/node-api'
import { LatheError } from '../../api/common/errors.js'
import { ident, queryRows } from '../monitorDb.js'
import { assemble, decide, type DriftOptions, type DriftReport, type Feature, type FeatureDrift } from './decide.js'
import type { TableSource } from './sources.js'
import { categoricalStatistics, numericStatistics, type FeatureStatistics } from './statistics.js'

/**
 * The exact path (`statistics: 'all'`): both sides' compared columns copied once into
 * temporary tables, then every statistic of each feature's kind from its own table of
 * distinct values with running totals (statistics.ts). The one-pass path sends its KS
 * and PSI columns here too (exactNumeric).
 */
export async function exactReport(
  conn: DuckDBConnection,
  reference: TableSource,
  current: TableSource,
  features: Feature[],
  options: DriftOptions,
): Promise<DriftReport> {
  const threshold = options.driftShareThreshold ?? 0.5
  const prediction = options.prediction ?? null
  const id = randomUUID().replaceAll('-', '').slice(0, 12)
  const refTable = `__drift_ref_${id}`
  const curTable = `__drift_cur_${id}`
  const cast = (name: string, kind: 'numeric' | 'categorical', as = name) =>
    `${kind === 'numeric' ? `TRY_CAST(${ident(name)} AS DOUBLE)` : `CAST(${ident(name)} AS VARCHAR)`} AS ${ident(as)}`
  const refSelect = features.map((f) => cast(f.name, f.kind))
  const curSelect = features.map((f) => cast(f.name, f.kind))
  if (prediction) {
    refSelect.push(cast(prediction.reference, prediction.kind, '__output'))
    curSelect.push(cast(prediction.current, prediction.kind, '__output'))
  }
  // Materialized once, with only the compared columns, so every statistic reads memory.
  await conn.run(`CREATE TEMP TABLE ${refTable} AS SELECT ${refSelect.join(', ') || '1 AS __none'} FROM (${reference.sql})`)
  try {
    await conn.run(`CREATE TEMP TABLE ${curTable} AS SELECT ${curSelect.join(', ') || '1 AS __none'} FROM (${current.sql})`)
    try {
      const [counts] = await queryRows<{ r: bigint; c: bigint }>(
        conn,
        `SELECT (SELECT count(*) FROM ${refTable}) AS r, (SELECT count(*) FROM ${curTable}) AS c`,
      )
      const referenceRows = Number(counts!.r)
      const currentRows = Number(counts!.c)
      if (referenceRows === 0) throw new LatheError('bad_request', `the reference (${reference.label}) has no rows`, { field: 'reference' })
      if (currentRows === 0) throw new LatheError('bad_request', `the current data (${current.label}) has no rows`, { field: 'current' })

      const results: FeatureDrift[] = []
      const skipped: Array<{ name: string; reason: string }> = []
      const total = features.length + (prediction ? 1 : 0)
      for (const [i, feature] of features.entries()) {
        const stats = await statisticsOf(conn, refTable, curTable, feature.name, feature.kind)
        options.onProgress?.({ done: i + 1, total, feature: feature.name })
        if (!stats) {
          skipped.push({ name: feature.name, reason: 'no non-null values on one side' })
          continue
        }
        results.push(decide(feature.name, stats, feature.method, feature.threshold))
      }
      let predictionDrift: FeatureDrift | null = null
      if (prediction) {
        const stats = await statisticsOf(conn, refTable, curTable, '__output', prediction.kind)
        if (stats) predictionDrift = decide('prediction', stats)
        options.onProgress?.({ done: total, total, feature: 'prediction' })
      }
      return assemble(
        { label: reference.label, rows: referenceRows },
        { label: current.label, rows: currentRows },
        threshold,
        results,
        skipped,
        predictionDrift,
      )
    } finally {
      await conn.run(`DROP TABLE IF EXISTS ${curTable}`)
    }
  } finally {
    await conn.run(`DROP TABLE IF EXISTS ${refTable}`)
  }
}

function statisticsOf(conn: DuckDBConnection, ref: string, cur: string, column: string, kind: 'numeric' | 'categorical'): Promise<FeatureStatistics | null> {
  return kind === 'numeric' ? numericStatistics(conn, ref, cur, column) : categoricalStatistics(conn, ref, cur, column)
}

/** Numeric statistics the exact way (KS, PSI, small samples): a table of distinct values per column. */
export async function exactNumeric<Item extends { refColumn: string; curColumn: string }>(
  conn: DuckDBConnection,
  reference: TableSource,
  current: TableSource,
  items: Item[],
): Promise<Map<Item, FeatureStatistics | null>> {
  const out = new Map<Item, FeatureStatistics | null>()
  if (items.length === 0) return out
  const id = randomUUID().replaceAll('-', '').slice(0, 12)
  const refTable = `__drift_ref_${id}`
  const curTable = `__drift_cur_${id}`
  const select = (side: 'refColumn' | 'curColumn') => items.map((it, i) => `TRY_CAST(${ident(it[side])} AS DOUBLE) AS __c${i}`).join(', ')
  await conn.run(`CREATE TEMP TABLE ${refTable} AS SELECT ${select('refColumn')} FROM (${reference.sql})`)
  try {
    await conn.run(`CREATE TEMP TABLE ${curTable} AS SELECT ${select('curColumn')} FROM (${current.sql})`)
    try {
      for (const [i, item] of items.entries()) out.set(item, await numericStatistics(conn, refTable, curTable, `__c${i}`))
    } finally {
      await conn.run(`DROP TABLE IF EXISTS ${curTable}`)
    }
  } finally {
    await conn.run(`DROP TABLE IF EXISTS ${refTable}`)
  }
  return out
}
