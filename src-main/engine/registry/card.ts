import type { ModelVersion } from './types.js'

/**
 * A model card in markdown, generated from what the registry knows. People edit it
 * afterwards; the edited text is stored and replaces the generated one.
 */
export function generateModelCard(v: ModelVersion): string {
  const lines: string[] = [`# ${v.model} v${v.version}`, '']
  lines.push(v.description || '_No description yet._', '')

  lines.push('## Intended use', '', v.intendedUse || '_Not stated. Say who should use this model, for what, and what it must not be used for._', '')

  lines.push('## Model', '')
  const sig = v.signature
  if (sig.task) lines.push(`- Task: ${sig.task}${sig.target ? ` of \`${sig.target}\`` : ''}`)
  if (sig.classes?.length) lines.push(`- Classes: ${sig.classes.map((c) => `\`${c}\``).join(', ')}`)
  lines.push(`- Inputs: ${sig.inputs.map((t) => `\`${t.name}\` ${t.dtype}${shape(t.shape)}`).join(', ')}`)
  lines.push(`- Outputs: ${sig.outputs.map((t) => `\`${t.name}\` ${t.dtype}${shape(t.shape)}`).join(', ')}`)
  lines.push(`- ONNX object: \`${v.onnxSha256}\``)
  lines.push(`- Source: ${v.source === 'run' ? `training run \`${v.runId}\`` : v.source === 'import' ? 'imported ONNX file' : 'imported package'}`)
  lines.push(`- Registered ${v.createdAt} by ${v.createdBy}`, '')

  lines.push('## Training data', '')
  if (v.dataset) {
    lines.push(`- Dataset: \`${v.dataset.name}\` version ${v.dataset.version} (\`${v.dataset.versionId}\`)`)
    if (v.split) lines.push(`- Split: \`${JSON.stringify(v.split)}\``)
    if (sig.columns?.length) lines.push(`- Features: ${sig.columns.map((c) => `\`${c.name}\` (${c.kind})`).join(', ')}`)
  } else {
    lines.push('_Not recorded: this model was trained outside Lathe._')
  }
  lines.push('')

  lines.push('## Metrics', '')
  const metrics = Object.entries(v.metrics)
  if (metrics.length) {
    lines.push('| metric | value |', '| --- | --- |')
    for (const [name, value] of metrics.sort(([a], [b]) => a.localeCompare(b))) lines.push(`| ${name} | ${formatNumber(value)} |`)
  } else {
    lines.push('_No metrics recorded._')
  }
  lines.push('')

  if (v.params && Object.keys(v.params).length) {
    lines.push('## Parameters', '', '| parameter | value |', '| --- | --- |')
    for (const [name, value] of Object.entries(v.params)) lines.push(`| ${name} | ${typeof value === 'object' ? JSON.stringify(value) : String(value)} |`)
    lines.push('')
  }
  if (Object.keys(v.metadata).length) {
    lines.push('## Metadata', '', '| key | value |', '| --- | --- |')
    for (const [k, value] of Object.entries(v.metadata)) lines.push(`| ${k} | ${value.replaceAll('|', '\\|').replaceAll('\n', ' ')} |`)
    lines.push('')
  }
  return lines.join('\n')
}

function shape(dims: Array<number | null>): string {
  return dims.length ? ` [${dims.map((d) => d ?? 'N').join(', ')}]` : ''
}

function formatNumber(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toPrecision(4)
}
