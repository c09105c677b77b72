import fs from 'node:fs'
import path from 'node:path'
import { type Command, InvalidArgumentError, Option } from 'commander'
import { LatheError } from '../../engine/api/common/errors.js'
import type { Contract } from '../../engine/contract.js'
import { emit, ProgressLine, table } from '../output.js'
import { common, parseNumber } from '../program.js'
import { withClient, type Client, type CommonOptions } from '../session.js'

/** `--type zip=VARCHAR`, repeatable, collected into { zip: 'VARCHAR' }. */
function collectType(value: string, previous: Record<string, string> = {}): Record<string, string> {
  const eq = value.indexOf('=')
  if (eq <= 0 || eq === value.length - 1) throw new InvalidArgumentError(`"${value}" is not COLUMN=TYPE (e.g. zip=VARCHAR)`)
  return { ...previous, [value.slice(0, eq)]: value.slice(eq + 1) }
}

function fmt(value: unknown): string {
  if (value === null || value === undefined) return ''
  if (typeof value === 'number') return Number.isInteger(value) ? String(value) : value.toPrecision(6).replace(/\.?0+$/, '')
  return String(value)
}

export function registerDataCommands(program: Command): void {
  const data = program.command('data').description('Datasets: import, versions, profiles, validation, transforms, export')

  common(data.command('import <file>').description('Import a CSV/TSV, JSON/NDJSON or Parquet file as a new dataset version'))
    .requiredOption('-n, --name <name>', 'dataset name')
    .addOption(new Option('--format <format>', 'file format (default: from the extension, else sniffed)').choices(['csv', 'tsv', 'json', 'ndjson', 'parquet']))
    .option('--type <column=TYPE>', 'force a column type, e.g. zip=VARCHAR (repeatable)', collectType)
    .option('--delimiter <char>', 'CSV delimiter (default: sniffed)')
    .option('--no-header', 'the CSV has no header line')
    .addOption(new Option('--encoding <encoding>', 'text encoding').choices(['utf-8', 'utf-16', 'latin-1']))
    .action(
      async (
        file: string,
        options: CommonOptions & { name: string; format?: 'csv'; type?: Record<string, string>; delimiter?: string; header: boolean; encoding?: 'utf-8' },
      ) => {
        const progress = new ProgressLine()
        const result = await withClient(options, 'lathe data import', async (client) => {
          const stop = client.subscribe(['data.import.progress'], (event) => {
            if (event.payload.dataset !== options.name) return
            progress.update(`importing ${path.basename(file)}: ${event.payload.phase} ${Math.round(event.payload.fraction * 100)}%`)
          })
          try {
            return await client.call('data.import', {
              name: options.name,
              path: path.resolve(file),
              format: options.format,
              types: options.type,
              delimiter: options.delimiter,
              // --no-header sets false; otherwise DuckDB sniffs whether there is one.
              header: options.header === false ? false : undefined,
              encoding: options.encoding,
            })
          } finally {
            stop()
            progress.done()
          }
        })
        const shape = { dataset: result.dataset, version: result.version, rows: result.rows, columns: result.columns, created: result.created }
        emit(options.json, shape, (r) =>
          [
            `${r.created ? 'imported' : 'already imported as'} ${r.dataset}@${r.version}: ${r.rows} rows, ${r.columns.length} columns`,
            result.validation.status === 'failed'
              ? `validation FAILED: ${result.validation.results
                  .filter((x) => !x.passed)
                  .map((x) => x.message)
                  .join('; ')}`
              : '',
            table(
              ['column', 'type'],
              r.columns.map((c) => [c.name, c.type]),
            ),
          ]
            .filter(Boolean)
            .join('\n'),
        )
      },
    )

  common(data.command('list').description('Datasets with their latest version')).action(async (options: CommonOptions) => {
    const result = await withClient(options, 'lathe data list', (client) => client.call('data.list', {}))
    emit(options.json, result, (r) =>
      r.datasets.length === 0
        ? 'no datasets yet: lathe data import FILE --name NAME'
        : table(
            ['dataset', 'versions', 'latest', 'rows', 'columns', 'validation', 'created'],
            r.datasets.map((d) => [
              d.name,
              d.versions,
              d.latest?.version,
              d.latest?.rows,
              d.latest?.columns.length,
              d.latest?.validation.status,
              d.latest?.createdAt,
            ]),
          ),
    )
  })

  common(data.command('show <dataset>').description('One version (NAME or NAME@V): source, schema, validation, lineage')).action(
    async (ref: string, options: CommonOptions) => {
      const result = await withClient(options, 'lathe data show', (client) => client.call('data.show', { dataset: ref }))
      emit(options.json, result, (r) => {
        const v = r.version
        return [
          `${v.dataset}@${v.version}  (${v.origin} ${v.source}, ${v.rows} rows, created ${v.createdAt})`,
          `object      ${v.objectSha256}`,
          `validation  ${v.validation.status}`,
          ...v.validation.results.filter((x) => !x.passed).map((x) => `  failed: ${x.message}`),
          v.parents.length ? `parents     ${v.parents.join(', ')}` : '',
          r.children.length ? `derived     ${r.children.join(', ')}` : '',
          '',
          table(
            ['column', 'type'],
            v.columns.map((c) => [c.name, c.type]),
          ),
          '',
          table(
            ['version', 'rows', 'origin', 'validation', 'created'],
            r.versions.map((x) => [x.version, x.rows, x.origin, x.validation, x.createdAt]),
          ),
        ]
          .filter((line, i, all) => line !== '' || all[i - 1] !== '')
          .join('\n')
      })
    },
  )

  common(data.command('profile <dataset>').description('Per-column statistics of a version (NAME or NAME@V)')).action(
    async (ref: string, options: CommonOptions) => {
      const profile = await withClient(options, 'lathe data profile', (client) => client.call('data.profile', { dataset: ref }))
      const shape = {
        dataset: profile.dataset,
        version: profile.version,
        rows: profile.rows,
        columns: profile.columns.map((c) => ({
          name: c.name,
          type: c.type,
          count: c.count,
          nulls: c.nulls,
          distinct: c.distinct,
          min: c.min,
          max: c.max,
          mean: c.mean,
          std: c.std,
          quantiles: c.quantiles ?? { p05: null, p25: null, p50: null, p75: null, p95: null },
          ...(c.histogram ? { histogram: c.histogram } : { top: c.top ?? [] }),
        })),
      }
      emit(options.json, shape, (p) =>
        [
          `${p.dataset}@${p.version}: ${p.rows} rows, ${p.columns.length} columns, ${profile.duplicateRows} duplicate rows`,
          table(
            ['column', 'type', 'nulls', 'distinct', 'min', 'p50', 'max', 'mean', 'std', 'top'],
            p.columns.map((c) => [
              c.name,
              c.type,
              c.nulls,
              `${c.distinct}${profile.columns.find((x) => x.name === c.name)?.distinctApproximate ? '~' : ''}`,
              fmt(c.min),
              fmt(c.quantiles.p50),
              fmt(c.max),
              fmt(c.mean),
              fmt(c.std),
              'top' in c
                ? (c.top ?? [])
                    .slice(0, 3)
                    .map((t) => `${t.value} (${t.count})`)
                    .join(', ')
                : '',
            ]),
          ),
        ].join('\n'),
      )
    },
  )

  common(data.command('validate <dataset>').description("Check a version against its dataset's rules"))
    .option('--rules <file>', 'first replace the dataset rules with the JSON array in FILE')
    .action(async (ref: string, options: CommonOptions & { rules?: string }) => {
      const result = await withClient(options, 'lathe data validate', async (client) => {
        if (options.rules) {
          // The engine validates the rules (kinds, columns) and says which one is wrong.
          let rules: Contract['data.rules.set']['input']['rules']
          try {
            rules = JSON.parse(fs.readFileSync(options.rules, 'utf8'))
          } catch (error) {
            throw new LatheError('bad_request', `cannot read rules from ${options.rules}: ${(error as Error).message}`, { field: 'rules' })
          }
          await client.call('data.rules.set', { dataset: ref.split('@')[0]!, rules })
        }
        return client.call('data.validate', { dataset: ref })
      })
      emit(options.json, result, (r) =>
        [
          `${r.dataset}@${r.version}: ${r.status}${r.status === 'none' ? ' (the dataset has no rules; add them with --rules FILE)' : ''}`,
          ...r.results.map((x) => `  ${x.passed ? 'ok  ' : 'FAIL'} ${x.message}${x.examples.length ? `  e.g. ${JSON.stringify(x.examples[0])}` : ''}`),
        ].join('\n'),
      )
      if (result.status === 'failed') process.exitCode = 1
    })

  common(data.command('transform').description('Derive a new version with a SQL SELECT over NAME@V references'))
    .requiredOption('-n, --name <name>', 'dataset the result becomes a version of')
    .requiredOption('--sql <sql>', 'one SELECT; refer to versions as name@V or name@latest')
    .action(async (options: CommonOptions & { name: string; sql: string }) => {
      const result = await withClient(options, 'lathe data transform', (client) => client.call('data.transform', { name: options.name, sql: options.sql }))
      emit(
        options.json,
        result,
        (r) =>
          `${r.created ? 'derived' : 'already derived as'} ${r.dataset}@${r.version} from ${r.parents.join(', ')}: ${r.rows} rows, ${r.columns.length} columns`,
      )
    })

  common(data.command('split <dataset>').description('Record a seeded train/validation/test split spec for a version'))
    .option('--split-name <name>', 'name of the split', 'default')
    .addOption(new Option('--method <method>', 'how rows are assigned').choices(['random', 'stratified', 'time']).default('random'))
    .option('--column <column>', 'class column (stratified) or time column (time)')
    .option('--seed <n>', 'seed', parseNumber, 42)
    .option('--train <f>', 'train fraction', parseNumber, 0.7)
    .option('--validation <f>', 'validation fraction', parseNumber, 0.15)
    .option('--test <f>', 'test fraction', parseNumber, 0.15)
    .action(
      async (
        ref: string,
        o: CommonOptions & { splitName: string; method: 'random'; column?: string; seed: number; train: number; validation: number; test: number },
      ) => {
        const result = await withClient(o, 'lathe data split', (client) =>
          client.call('data.splits.create', {
            dataset: ref,
            name: o.splitName,
            spec: { method: o.method, column: o.column, seed: o.seed, train: o.train, validation: o.validation, test: o.test },
          }),
        )
        emit(
          o.json,
          result,
          (r) => `${r.dataset}@${r.version} split "${r.name}": train ${r.counts.train}, validation ${r.counts.validation}, test ${r.counts.test}`,
        )
      },
    )

  common(data.command('export <dataset> <file>').description('Write a version to a CSV or Parquet file (by extension)')).action(
    async (ref: string, file: string, options: CommonOptions) => {
      const result = await withClient(options, 'lathe data export', (client) => client.call('data.export', { dataset: ref, path: path.resolve(file) }))
      emit(options.json, result, (r) => `wrote ${r.dataset}@${r.version} (${r.rows} rows) to ${r.path}`)
    },
  )
}
