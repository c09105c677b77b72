import { LatheError } from '../api/common/errors.js'
import type { EngineContext } from '../context.js'
import { withConnection } from './duck.js'
import { checkRules, checkRuleShapes, parquetRelation, summarize, ValidationRule, type RuleResult } from './rules.js'
import { findDataset, latestVersion, setRules, setValidation, type VersionRecord } from './store.js'

/**
 * Replaces a dataset's rules. Each SQL predicate is tried on the latest version
 * first, so a typo is refused now rather than failing every later import.
 */
export async function setDatasetRules(ctx: EngineContext, name: string, rules: ValidationRule[]): Promise<{ dataset: string; rules: ValidationRule[] }> {
  const dataset = findDataset(ctx.workspace.db, name)
  if (!dataset) throw new LatheError('not_found', `no dataset named "${name}"; import a version first`, { field: 'dataset' })
  checkRuleShapes(rules)
  const latest = latestVersion(ctx.workspace.db, dataset.id)
  if (latest) {
    const sqlRules = rules.filter((r) => r.kind === 'sql')
    const results = await checkOn(ctx, latest, sqlRules)
    results.forEach((result) => {
      if (result.message.startsWith('could not check')) {
        const index = rules.indexOf(result.rule)
        throw new LatheError('bad_request', `rule ${index + 1}: ${result.message}`, { field: `rules.${index}.predicate` })
      }
    })
  }
  setRules(ctx.workspace.db, ctx.actor, dataset.id, rules)
  return { dataset: name, rules }
}

async function checkOn(ctx: EngineContext, record: VersionRecord, rules: ValidationRule[]): Promise<RuleResult[]> {
  if (rules.length === 0) return []
  const file = await ctx.workspace.objects.ensure(record.objectSha256)
  return withConnection(ctx, (connection) => checkRules(connection, parquetRelation(file), record.columns, record.rows, rules))
}

/** Re-checks a version against its dataset's current rules and records the outcome. */
export async function validateVersion(ctx: EngineContext, record: VersionRecord) {
  const dataset = findDataset(ctx.workspace.db, record.name)!
  const rules = dataset.rules.map((r) => ValidationRule.parse(r))
  const validation = summarize(await checkOn(ctx, record, rules))
  setValidation(ctx.workspace.db, ctx.actor, record.id, validation)
  return { dataset: record.name, version: record.version, status: validation.status, results: validation.results as RuleResult[] }
}

/** A dataset's current rules (for serving, to check requests with `checkRulesOnRows`). */
export function getDatasetRules(ctx: EngineContext, datasetName: string): ValidationRule[] {
  const dataset = findDataset(ctx.workspace.db, datasetName)
  if (!dataset) throw new LatheError('not_found', `no dataset named "${datasetName}"`, { field: 'dataset' })
  return dataset.rules.map((r) => ValidationRule.parse(r))
}
