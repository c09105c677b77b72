import type { Output } from '../../api.js'
import './models.css'

type Lineage = Output<'registry.lineage'>

const KIND_LABEL: Record<Lineage['nodes'][number]['kind'], string> = {
  model_version: 'model version',
  run: 'training run',
  dataset_version: 'dataset version',
  transform: 'transform',
  source: 'source file',
  pipeline: 'pipeline run',
}
const BOX_W = 170
const BOX_H = 46
const GAP_X = 96
const GAP_Y = 16

/**
 * Lineage as a small left-to-right graph: each node sits one column right of the
 * thing it was made into (version -> run -> dataset versions -> sources). Plain SVG:
 * the graphs are a handful of nodes, a layout library would be more than the graph.
 */
export function LineageGraph({ lineage }: { lineage: Lineage }) {
  const depth = new Map<string, number>()
  const root = lineage.nodes[0]?.id
  if (root) depth.set(root, 0)
  // Edges come out in discovery order, so one pass assigns every reachable node.
  for (const edge of lineage.edges) depth.set(edge.to, Math.max(depth.get(edge.to) ?? 0, (depth.get(edge.from) ?? 0) + 1))
  const columns: string[][] = []
  for (const node of lineage.nodes) (columns[depth.get(node.id) ?? 0] ??= []).push(node.id)
  const position = new Map<string, { x: number; y: number }>()
  columns.forEach((ids, col) => ids.forEach((id, row) => position.set(id, { x: 8 + col * (BOX_W + GAP_X), y: 8 + row * (BOX_H + GAP_Y) })))
  const width = 16 + columns.length * (BOX_W + GAP_X) - GAP_X
  const height = 16 + Math.max(1, ...columns.map((c) => c.length)) * (BOX_H + GAP_Y) - GAP_Y

  return (
    <svg role="img" aria-label="Lineage graph" width={width} height={height} className="lineage-graph">
      <defs>
        <marker id="lineage-arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto">
          <path d="M0,0 L10,5 L0,10 z" fill="var(--muted)" />
        </marker>
      </defs>
      {lineage.edges.map((edge) => {
        const a = position.get(edge.from)
        const b = position.get(edge.to)
        if (!a || !b) return null
        return (
          <g key={`${edge.from}->${edge.to}`}>
            <line x1={a.x + BOX_W} y1={a.y + BOX_H / 2} x2={b.x} y2={b.y + BOX_H / 2} stroke="var(--muted)" markerEnd="url(#lineage-arrow)" />
            <text x={(a.x + BOX_W + b.x) / 2} y={(a.y + b.y) / 2 + BOX_H / 2 - 4} textAnchor="middle" fill="var(--muted)" fontSize={10}>
              {edge.label}
            </text>
          </g>
        )
      })}
      {lineage.nodes.map((node) => {
        const p = position.get(node.id)!
        return (
          <g key={node.id} data-kind={node.kind}>
            <title>{JSON.stringify(node.detail, null, 1)}</title>
            <rect
              x={p.x}
              y={p.y}
              width={BOX_W}
              height={BOX_H}
              rx={6}
              fill={node.kind === 'model_version' ? 'var(--accent)' : 'var(--panel-2)'}
              stroke="var(--border)"
              strokeDasharray={node.present ? undefined : '4 3'}
            />
            <text x={p.x + 8} y={p.y + 18} fill={node.kind === 'model_version' ? 'var(--accent-text)' : 'var(--text)'} fontWeight={600}>
              {truncate(node.label, 24)}
            </text>
            <text x={p.x + 8} y={p.y + 35} fill={node.kind === 'model_version' ? 'var(--accent-text)' : 'var(--muted)'} fontSize={11}>
              {KIND_LABEL[node.kind]}
              {node.present ? '' : ' (not here)'}
            </text>
          </g>
        )
      })}
    </svg>
  )
}

function truncate(text: string, n: number): string {
  return text.length > n ? `${text.slice(0, n - 1)}…` : text
}
