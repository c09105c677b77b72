/**
 * `npm run bench -- <name...>`: runs benchmarks that compare Lathe with the peers in
 * bench/peers/ in the same run and print ratios. Benchmarks are not tests: they
 * assert nothing and are never run by `npm test`.
 */
const suites: Record<string, () => Promise<{ run: () => Promise<void> }>> = {
  data: () => import('./data.js'),
  train: () => import('./train.js'),
  serve: () => import('./serve.js'),
  drift: () => import('./drift.js'),
  'drift-scale': () => import('./drift-scale.js'),
  team: () => import('./team.js'),
  sync: () => import('./sync.js'),
  pipeline: () => import('./pipeline.js'),
  cli: () => import('./cli.js'),
}

// Options that take a value (`--backend webgpu`): their value is not a benchmark's name.
const valueOptions = new Set(['--backend', '--kills'])
const argv = process.argv.slice(2)
const asked = argv.filter((a, i) => !a.startsWith('-') && !valueOptions.has(argv[i - 1] ?? ''))
const names = asked.length ? asked : Object.keys(suites)
for (const name of names) {
  const load = suites[name]
  if (!load) {
    process.stderr.write(`unknown benchmark "${name}"; choose from ${Object.keys(suites).join(', ')}\n`)
    process.exit(2)
  }
}
for (const name of names) {
  process.stdout.write(`\n== bench ${name} ==\n`)
  const suite = await suites[name]!()
  await suite.run()
}
