import path from 'node:path'
import { InvalidArgumentError, type Command } from 'commander'
import { isLatheError, LatheError } from '../../engine/api/common/errors.js'
import { isoMinute } from '../../engine/api/common/format.js'
import type { ModelRef } from '../../engine/api/common/model-ref.js'
import { emit, table } from '../output.js'
import { common, modelRefArgument, wholeModel } from '../program.js'
import { withClient, type CommonOptions } from '../session.js'

const HOLDER = 'lathe models'

/** `metric=value`, repeatable: `--min test.accuracy=0.8`. */
function thresholdOption(value: string, previous: Array<{ metric: string; value: number }> = []) {
  const match = /^([^=\s]+)=(-?[\d.eE+-]+)$/.exec(value)
  if (!match || !Number.isFinite(Number(match[2]))) throw new InvalidArgumentError(`"${value}" is not metric=number (e.g. test.accuracy=0.8)`)
  return [...previous, { metric: match[1]!, value: Number(match[2]) }]
}

function toleranceOption(value: string): number {
  const n = Number(value)
  if (value.trim() === '' || !Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`"${value}" is not a number >= 0`)
  return n
}

function metaOption(value: string, previous: Record<string, string> = {}): Record<string, string> {
  const eq = value.indexOf('=')
  if (eq <= 0) throw new InvalidArgumentError(`"${value}" is not key=value`)
  return { ...previous, [value.slice(0, eq)]: value.slice(eq + 1) }
}

export function registerRegistryCommands(program: Command): void {
  const models = program.command('models').description('Registered models: versions, aliases, gates, lineage, packages')

  common(models.command('list').description('Every registered model with its latest version and aliases')).action(async (options: CommonOptions) => {
    const list = await withClient(options, HOLDER, (client) => client.call('registry.models.list', {}))
    emit(options.json, list, (l) =>
      l.length === 0
        ? 'No models yet: `lathe models register RUN --name M` or `lathe models import FILE.onnx --name M`.'
        : table(
            ['model', 'versions', 'latest', 'aliases'],
            l.map((m) => [m.name, m.versionCount, m.latestVersion, m.aliases.map((a) => `${a.alias}=v${a.version} (since ${isoMinute(a.since)})`).join(', ')]),
          ),
    )
  })

  common(
    models
      .command('show')
      .argument('<model>', 'M, M@alias or M@version', modelRefArgument)
      .description('A model and its versions, or one version with its card'),
  ).action(async (ref: ModelRef, options: CommonOptions) => {
    const { model, selector } = ref
    if (selector) {
      const shown = await withClient(options, HOLDER, (client) => client.call('registry.versions.show', { model, version: selector }))
      emit(options.json, shown, (s) => s.card.markdown)
      return
    }
    const shown = await withClient(options, HOLDER, (client) => client.call('registry.models.show', { model }))
    emit(options.json, shown, (s) =>
      [
        `${s.model.name}${s.model.description ? `: ${s.model.description}` : ''}`,
        '',
        'Aliases:',
        s.model.aliases.length
          ? table(
              ['alias', 'version', 'since'],
              s.model.aliases.map((a) => [a.alias, `v${a.version}`, a.since]),
            )
          : '  (none)',
        '',
        'Versions:',
        table(
          ['version', 'source', 'run', 'dataset', 'metrics', 'aliases', 'created'],
          s.versions.map((v) => [
            `v${v.version}`,
            v.source,
            v.runId?.slice(0, 8),
            v.dataset ? `${v.dataset.name}@${v.dataset.version}` : '',
            Object.entries(v.metrics)
              .filter(([k]) => k.startsWith('test.'))
              .map(([k, x]) => `${k.slice(5)}=${x.toFixed(4)}`)
              .join(' '),
            v.aliases.join(','),
            v.createdAt,
          ]),
        ),
      ].join('\n'),
    )
  })

  common(
    models
      .command('register')
      .argument('<run>', 'run id')
      .requiredOption('--name <model>', 'model to add the version to')
      .description("Register a finished run's model"),
  ).action(async (runId: string, options: CommonOptions & { name: string }) => {
    const v = await withClient(options, HOLDER, (client) => client.call('registry.versions.register', { runId, name: options.name }))
    emit(options.json, v, (x) => `registered ${x.model} v${x.version} from run ${runId}`)
  })

  common(
    models
      .command('promote')
      .argument('<model>', 'M, or M@version / M@alias instead of VERSION', modelRefArgument)
      .argument('[version]', 'version number, or an alias whose version to promote')
      .requiredOption('--alias <alias>', 'alias to move (production, staging, ...)')
      .option('--force', 'move even if the gate fails (recorded in the audit log)')
      .option('--reason <text>', 'why, for the audit log')
      .description("Move an alias to a version through the alias's gate"),
  ).action(async (ref: ModelRef, versionArg: string | undefined, options: CommonOptions & { alias: string; force?: boolean; reason?: string }) => {
    const model = ref.model
    if (ref.selector !== undefined && versionArg !== undefined && ref.selector !== versionArg) {
      throw new LatheError('bad_request', `${model}@${ref.selector} and VERSION ${versionArg} disagree: give the version once`, { field: 'version' })
    }
    const version = ref.selector ?? versionArg
    if (version === undefined) throw new LatheError('bad_request', `which version of ${model}? give M@VERSION or M VERSION`, { field: 'version' })
    try {
      const result = await withClient(options, HOLDER, (client) =>
        client.call('registry.promote', {
          model,
          version: /^\d+$/.test(version) ? Number(version) : version,
          alias: options.alias,
          force: options.force ?? false,
          reason: options.reason,
        }),
      )
      emit(options.json, result, (r) =>
        [
          `${r.model}:${r.alias} -> v${r.version}${r.previous !== null ? ` (was v${r.previous})` : ''}${r.forced ? ' FORCED past a failed gate' : ''}`,
          ...gateLines(r.gate),
        ].join('\n'),
      )
    } catch (error) {
      // A refused move still prints its gate as JSON, so scripts can read the numbers.
      const gate = isLatheError(error) ? (error.details as { passed?: boolean; checks?: unknown[] } | undefined) : undefined
      if (options.json && gate && Array.isArray(gate.checks)) {
        process.stdout.write(
          `${JSON.stringify({ model, alias: options.alias, version: Number(version) || version, previous: null, gate, forced: false }, null, 2)}\n`,
        )
      }
      throw error
    }
  })

  common(
    models
      .command('rollback')
      .argument('<model>', 'M', modelRefArgument)
      .requiredOption('--alias <alias>')
      .option('--reason <text>')
      .description('Move an alias back to the version it held before'),
  ).action(async (ref: ModelRef, options: CommonOptions & { alias: string; reason?: string }) => {
    const model = wholeModel(ref, 'lathe models rollback (it moves --alias)')
    const r = await withClient(options, HOLDER, (client) => client.call('registry.rollback', { model, alias: options.alias, reason: options.reason }))
    emit(options.json, r, (x) => `${x.model}:${x.alias} -> v${x.version} (rolled back from v${x.previous})`)
  })

  common(
    models
      .command('import')
      .argument('<file>', 'an .onnx model, or a .zip package from `lathe models export`')
      .option('--name <model>', 'model to add it to (required for .onnx; renames a package)')
      .option('--description <text>')
      .option('--meta <key=value>', 'metadata to record with the version (repeatable)', metaOption)
      .description('Import an ONNX model trained anywhere, or a model package'),
  ).action(async (file: string, options: CommonOptions & { name?: string; description?: string; meta?: Record<string, string> }) => {
    const absolute = path.resolve(file)
    if (absolute.toLowerCase().endsWith('.zip')) {
      const r = await withClient(options, HOLDER, (client) => client.call('registry.importPackage', { file: absolute, name: options.name }))
      emit(options.json, r, (x) => `${x.created ? 'imported' : 'already here:'} ${x.version.model} v${x.version.version} (${x.version.versionId})`)
      return
    }
    if (!options.name) throw new InvalidArgumentError('--name is required to import an .onnx file')
    const v = await withClient(options, HOLDER, (client) =>
      client.call('registry.versions.import', { file: absolute, name: options.name!, description: options.description, metadata: options.meta }),
    )
    emit(options.json, v, (x) =>
      [
        `imported ${x.model} v${x.version}`,
        `  inputs:  ${x.signature.inputs.map((t) => `${t.name} ${t.dtype} [${t.shape.map((d) => d ?? 'N')}]`).join(', ')}`,
        `  outputs: ${x.signature.outputs.map((t) => `${t.name} ${t.dtype} [${t.shape.map((d) => d ?? 'N')}]`).join(', ')}`,
      ].join('\n'),
    )
  })

  common(
    models
      .command('export')
      .argument('<ref>', 'M@version or M@alias (M: M@production)', modelRefArgument)
      .argument('<file>', 'the .zip to write (a file ending in .onnx: the bare ONNX graph)')
      .description('Export a version as a portable package, or its ONNX graph'),
  ).action(async (ref: ModelRef, file: string, options: CommonOptions) => {
    const { model, selector } = ref
    const format = file.toLowerCase().endsWith('.onnx') ? 'onnx' : 'package'
    const r = await withClient(options, HOLDER, (client) =>
      client.call('registry.export', { model, version: selector ?? 'production', file: path.resolve(file), format }),
    )
    emit(options.json, r, (x) => `wrote ${x.file} (${x.bytes} bytes)`)
  })

  common(
    models
      .command('delete')
      .argument('<ref>', 'M (the model and every version) or M@version')
      .option('--dry-run', 'say what would happen and what depends on it, change nothing')
      .description(
        'Delete what nothing refers to; archive what lineage refers to (alias history, a team server); refused while an alias, deployment or monitor uses it',
      ),
  ).action(async (text: string, options: CommonOptions & { dryRun?: boolean }) => {
    const { model, selector } = modelRefArgument(text)
    if (selector && !/^\d+$/.test(selector))
      throw new LatheError('bad_request', `name the version by its number (${model}@3), not by an alias`, { field: 'version' })
    const dryRun = options.dryRun ?? false
    const r = await withClient(options, HOLDER, (client) =>
      selector ? client.call('registry.versions.remove', { model, version: selector, dryRun }) : client.call('registry.models.remove', { model, dryRun }),
    )
    const what = selector ? `${model} v${selector}` : model
    emit(options.json, r, (x) =>
      [
        x.dryRun
          ? `${what} would be ${x.dependents.action === 'delete' ? 'deleted' : x.dependents.action === 'archive' ? 'archived' : 'kept (blocked)'}:`
          : `${what} ${x.action}:`,
        ...x.dependents.reasons.map((reason) => `  ${reason}`),
      ].join('\n'),
    )
  })

  common(
    models
      .command('restore')
      .argument('<ref>', 'M (an archived model) or M@version (an archived version)')
      .description('Bring back what `lathe models delete` archived'),
  ).action(async (text: string, options: CommonOptions) => {
    const { model, selector } = modelRefArgument(text)
    const r = await withClient(options, HOLDER, (client) => client.call('registry.restore', { model, version: selector }))
    const what = r.version === null ? r.model : `${r.model} v${r.version}`
    emit(options.json, r, (x) => `${what}: ${x.restored ? 'restored' : 'was not archived'}`)
  })

  common(
    models
      .command('history')
      .argument('<model>', 'M', modelRefArgument)
      .option('--alias <alias>')
      .description('Every alias move and every audited change of a model'),
  ).action(async (ref: ModelRef, options: CommonOptions & { alias?: string }) => {
    const model = wholeModel(ref, 'lathe models history')
    const h = await withClient(options, HOLDER, (client) => client.call('registry.history', { model, alias: options.alias }))
    emit(options.json, h, (x) =>
      [
        table(
          ['time', 'alias', 'move', 'kind', 'actor', 'reason'],
          x.moves.map((m) => [
            m.time,
            m.alias,
            `${m.previous === null ? '-' : `v${m.previous}`} -> v${m.version}`,
            m.forced ? `${m.kind} (forced)` : m.kind,
            m.actor,
            [m.reason, m.cause].filter(Boolean).join('; '),
          ]),
        ),
        '',
        'Audit log:',
        table(
          ['time', 'actor', 'action', 'entity', 'reason'],
          x.audit.map((a) => [a.time, a.actor, a.action, a.entityId, a.reason]),
        ),
      ].join('\n'),
    )
  })

  common(
    models
      .command('gate')
      .argument('<model>', 'M', modelRefArgument)
      .requiredOption('--alias <alias>')
      .option('--min <metric=value>', 'metric must be >= value (repeatable)', thresholdOption)
      .option('--max <metric=value>', 'metric must be <= value (repeatable)', thresholdOption)
      .option('--not-worse-than <metric>', "candidate re-evaluated with the current version on its test split must not be worse (a metric, or 'primary')")
      .option('--tolerance <n>', "allowed drop for --not-worse-than, in the metric's units", toleranceOption)
      .option('--protected', "mark the alias protected: no worse than current on the task's primary metric (accuracy or rmse)")
      .option('--skip-signature-check', 'do not require a signature compatible with the current version')
      .option('--skip-data-check', "do not require the training data's validation to have passed")
      .description("Show or set an alias's promotion gate"),
  ).action(
    async (
      ref: ModelRef,
      options: CommonOptions & {
        alias: string
        min?: Array<{ metric: string; value: number }>
        max?: Array<{ metric: string; value: number }>
        notWorseThan?: string
        tolerance?: number
        protected?: boolean
        skipSignatureCheck?: boolean
        skipDataCheck?: boolean
      },
    ) => {
      const model = wholeModel(ref, 'lathe models gate (a gate belongs to --alias)')
      const setting = options.min || options.max || options.notWorseThan || options.protected || options.skipSignatureCheck || options.skipDataCheck
      const { PRIMARY_METRIC } = await import('../../engine/registry/index.js')
      const notWorseThan = options.notWorseThan ?? (options.protected ? PRIMARY_METRIC : undefined)
      const gate = await withClient(options, HOLDER, (client) =>
        setting
          ? client.call('registry.gate.set', {
              model,
              alias: options.alias,
              gate: {
                thresholds: [
                  ...(options.min ?? []).map((t) => ({ ...t, op: '>=' as const })),
                  ...(options.max ?? []).map((t) => ({ ...t, op: '<=' as const })),
                ],
                noWorseThan: notWorseThan ? { metric: notWorseThan, tolerance: options.tolerance ?? 0 } : null,
                signatureCompatible: !options.skipSignatureCheck,
                dataValidation: !options.skipDataCheck,
              },
            })
          : client.call('registry.gate.get', { model, alias: options.alias }),
      )
      emit(options.json, gate, (g) =>
        [
          `gate for ${model}:${options.alias}`,
          ...g.thresholds.map((t) => `  ${t.metric} ${t.op} ${t.value}`),
          g.noWorseThan
            ? `  no worse than current on ${g.noWorseThan.metric === PRIMARY_METRIC ? 'the primary metric (accuracy or rmse)' : g.noWorseThan.metric}${g.noWorseThan.tolerance ? ` within ${g.noWorseThan.tolerance}` : ''} (re-evaluated on the candidate's test split)`
            : null,
          `  signature compatible: ${g.signatureCompatible ? 'required' : 'not checked'}`,
          `  training data validation: ${g.dataValidation ? 'required' : 'not checked'}`,
        ]
          .filter(Boolean)
          .join('\n'),
      )
    },
  )

  common(
    models
      .command('lineage')
      .argument('<ref>', 'M, M@alias or M@version (M: M@production)', modelRefArgument)
      .description('Where a version came from: run, dataset versions, sources'),
  ).action(async (ref: ModelRef, options: CommonOptions) => {
    const { model, selector } = ref
    const l = await withClient(options, HOLDER, (client) => client.call('registry.lineage', { model, version: selector ?? 'production' }))
    const label = new Map(l.nodes.map((n) => [n.id, `${n.label}${n.present ? '' : ' (not in this workspace)'}`]))
    emit(
      options.json,
      l,
      (x) => x.edges.map((e) => `${label.get(e.from)} --${e.label}--> ${label.get(e.to)}`).join('\n') || `${x.nodes[0]?.label}: no recorded lineage`,
    )
  })

  common(models.command('trained-on').argument('<dataset>', 'N or N@V').description('Which model versions were trained on a dataset version')).action(
    async (dataset: string, options: CommonOptions) => {
      const list = await withClient(options, HOLDER, (client) => client.call('registry.lineage.trainedOn', { dataset }))
      emit(options.json, list, (l) =>
        l.length
          ? table(
              ['model', 'version', 'run', 'dataset'],
              l.map((x) => [x.model, `v${x.version}`, x.runId, `${x.dataset}${x.direct ? '' : ' (derived)'}`]),
            )
          : 'none',
      )
    },
  )
}

function gateLines(gate: { passed: boolean; checks: Array<{ name: string; passed: boolean; detail: string }> }): string[] {
  return gate.checks.map((c) => `  ${c.passed ? 'pass' : 'FAIL'}  ${c.name}: ${c.detail}`)
}
