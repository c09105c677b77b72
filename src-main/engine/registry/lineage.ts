import { z } from 'zod'
import type { EngineContext } from '../context.js'
import { findVersionRecord } from '../data/index.js'
import { childrenOf, getVersionById as getDatasetVersion } from '../data/index.js'
import { findVersion } from './resolve.js'
import { versionsByDatasetVersion } from './store.js'
import { runForLineage } from './upstream.js'

export const LineageNode = z.object({
  id: z.string(),
  kind: z.enum(['model_version', 'run', 'dataset_version', 'transform', 'source']),
  label: z.string(),
  detail: z.record(z.string(), z.unknown()),
  /** False for what the version names but this workspace does not hold (e.g. after a package import). */
  present: z.boolean(),
})
export const LineageEdge = z.object({ from: z.string(), to: z.string(), label: z.string() })
export const Lineage = z.object({ nodes: z.array(LineageNode), edges: z.array(LineageEdge) })
export type Lineage = z.infer<typeof Lineage>
type Node = z.infer<typeof LineageNode>

/**
 * Upstream lineage of a model version, as a small graph: version -> run -> dataset
 * version -> (SQL transform ->) parent versions -> source files. Edges point from a
 * thing to what it was made from.
 */
export function versionLineage(ctx: EngineContext, model: string, selector: string): Lineage {
  const { row } = findVersion(ctx, model, selector)
  const nodes = new Map<string, Node>()
  const edges: Lineage['edges'] = []
  const versionNode = `version:${row.versionId}`
  nodes.set(versionNode, {
    id: versionNode,
    kind: 'model_version',
    label: `${row.model} v${row.version}`,
    detail: { versionId: row.versionId, onnxSha256: row.onnxSha256, source: row.source },
    present: true,
  })
  let datasetParent = versionNode
  if (row.runId) {
    const run = runForLineage(ctx, row.runId)
    const runNode = `run:${row.runId}`
    nodes.set(runNode, { id: runNode, kind: 'run', label: row.runId.slice(0, 12), detail: run ?? { id: row.runId }, present: run !== null })
    edges.push({ from: versionNode, to: runNode, label: 'trained by' })
    datasetParent = runNode
  }
  if (row.dataset) {
    addDatasetVersion(ctx, row.dataset.versionId, `${row.dataset.name}@${row.dataset.version}`, datasetParent, 'trained on', nodes, edges)
  }
  const local: Lineage = { nodes: [...nodes.values()], edges }
  const packaged = row.metadata['package.lineage']
  return packaged && local.nodes.some((n) => !n.present) ? fromPackage(ctx, local, packaged) : local
}

/**
 * A version imported from a package names a run and data this workspace may not
 * hold: the lineage recorded where it was exported fills in what is missing here,
 * each node marked by whether this workspace has it.
 */
function fromPackage(ctx: EngineContext, local: Lineage, packagedJson: string): Lineage {
  const parsed = Lineage.safeParse(JSON.parse(packagedJson))
  if (!parsed.success) return local
  const here = new Map(local.nodes.map((n) => [n.id, n]))
  const nodes = parsed.data.nodes.map((n): Node => {
    const mine = here.get(n.id)
    if (mine) return mine
    if (n.kind === 'run') return { ...n, present: runForLineage(ctx, n.id.slice('run:'.length)) !== null }
    if (n.kind === 'dataset_version') return { ...n, present: getDatasetVersion(ctx.workspace.db, n.id.slice('dataset:'.length)) !== null }
    // Sources and transforms are facts about the data; here only if some version of that data is.
    return { ...n, present: false }
  })
  return { nodes, edges: parsed.data.edges }
}

function addDatasetVersion(
  ctx: EngineContext,
  versionId: string,
  fallbackLabel: string,
  from: string,
  label: string,
  nodes: Map<string, Node>,
  edges: Lineage['edges'],
): void {
  const id = `dataset:${versionId}`
  edges.push({ from, to: id, label })
  if (nodes.has(id)) return
  const record = getDatasetVersion(ctx.workspace.db, versionId)
  if (!record) {
    nodes.set(id, { id, kind: 'dataset_version', label: fallbackLabel, detail: { versionId }, present: false })
    return
  }
  nodes.set(id, {
    id,
    kind: 'dataset_version',
    label: `${record.name}@${record.version}`,
    detail: { versionId, rows: record.rows, objectSha256: record.objectSha256, origin: record.origin, validation: record.validation.status },
    present: true,
  })
  if (record.origin === 'file') {
    const sourceId = `source:${record.sourceSha256}`
    if (!nodes.has(sourceId)) {
      nodes.set(sourceId, {
        id: sourceId,
        kind: 'source',
        label: record.sourceName,
        detail: { file: record.sourceName, sha256: record.sourceSha256 },
        present: true,
      })
    }
    edges.push({ from: id, to: sourceId, label: 'imported from' })
  }
  let parentsFrom = id
  if (record.origin === 'transform') {
    const sql = (record.options as { sql?: string } | null)?.sql ?? ''
    const transformId = `transform:${versionId}`
    nodes.set(transformId, { id: transformId, kind: 'transform', label: 'SQL transform', detail: { sql, sha256: record.sourceSha256 }, present: true })
    edges.push({ from: id, to: transformId, label: 'made by' })
    parentsFrom = transformId
  }
  for (const parent of record.parents) addDatasetVersion(ctx, parent, parent, parentsFrom, 'reads', nodes, edges)
}

export const TrainedOnEntry = z.object({
  model: z.string(),
  version: z.number().int(),
  versionId: z.string(),
  runId: z.string().nullable(),
  /** The dataset version it was trained on: the one asked about or one derived from it. */
  dataset: z.string(),
  direct: z.boolean(),
})

/** Downstream: which model versions were trained on a dataset version, or on versions derived from it. */
export function versionsTrainedOn(ctx: EngineContext, datasetRef: string): Array<z.infer<typeof TrainedOnEntry>> {
  const root = findVersionRecord(ctx, datasetRef)
  const out: Array<z.infer<typeof TrainedOnEntry>> = []
  const seen = new Set<string>()
  const queue = [root.id]
  while (queue.length) {
    const id = queue.shift()!
    if (seen.has(id)) continue
    seen.add(id)
    const record = getDatasetVersion(ctx.workspace.db, id)
    for (const v of versionsByDatasetVersion(ctx.workspace.db, id)) {
      out.push({
        model: v.model,
        version: v.version,
        versionId: v.versionId,
        runId: v.runId,
        dataset: record ? `${record.name}@${record.version}` : id,
        direct: id === root.id,
      })
    }
    queue.push(...childrenOf(ctx.workspace.db, id))
  }
  return out
}
