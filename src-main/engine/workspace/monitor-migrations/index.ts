import { monitorMigration001 } from './001-feedback.js'
import { monitorMigration002 } from './002-prediction-log.js'
import type { MonitorMigration } from './types.js'

/** Every monitor.duckdb migration, in order. Append new ones; never edit or reorder released ones. */
export const monitorMigrations: readonly MonitorMigration[] = [monitorMigration001, monitorMigration002]
