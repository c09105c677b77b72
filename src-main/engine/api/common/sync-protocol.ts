import { z } from 'zod'

/**
 * The sync wire protocol (`/sync/v1/...`), shared by the workspace's client and the
 * team server: what an operation carries, what each answer says, what a pull returns
 * and what a digest covers. DESIGN.md "Team server and sync" has the reasons.
 * Pure (no Node builtins): the client, the team server and the UI read the same file.
 */

export const MAX_BATCH_OPS = 256
export const MAX_BATCH_BYTES = 8 * 1024 * 1024

const Sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'a SHA-256 as 64 lowercase hex digits')
const Id = z.string().min(1).max(200)
const Name = z.string().min(1).max(200)

export const DatasetVersionPayload = z.object({
  id: Id,
  dataset: Name,
  localNumber: z.number().int().positive(),
  objectSha256: Sha256,
  bytes: z.number().int().nonnegative(),
  origin: z.enum(['file', 'transform']),
  sourceName: z.string(),
  sourceSha256: z.string(),
  optionsKey: z.string(),
  options: z.unknown(),
  rows: z.number().int().nonnegative(),
  columns: z.array(z.object({ name: z.string(), type: z.string() })),
  validation: z.object({ status: z.enum(['passed', 'failed', 'none']), results: z.array(z.unknown()) }),
  createdAt: z.string(),
  parents: z.array(Id),
})
export type DatasetVersionPayload = z.infer<typeof DatasetVersionPayload>

/** A run's whole record (training's RunRecord, as JSON): the server keeps the latest. */
export const RunPayload = z.object({
  id: Id,
  status: z.enum(['queued', 'running', 'finished', 'failed', 'cancelled']),
  record: z.record(z.string(), z.unknown()),
})
export type RunPayload = z.infer<typeof RunPayload>

export const SegmentPayload = z.object({
  runId: Id,
  name: Name,
  segment: z.number().int().nonnegative(),
  points: z.number().int().positive(),
  /** encodeSegment's bytes, base64. */
  data: z.string(),
})
export type SegmentPayload = z.infer<typeof SegmentPayload>

export const ModelVersionPayload = z.object({
  id: Id,
  model: Name,
  localNumber: z.number().int().positive(),
  onnxSha256: Sha256,
  /** The version's columns as the registry stores them (signature, metrics, lineage, card...). */
  row: z.record(z.string(), z.unknown()),
})
export type ModelVersionPayload = z.infer<typeof ModelVersionPayload>

export const AliasMovePayload = z.object({
  uid: Id,
  model: Name,
  alias: Name,
  versionId: Id,
  /** What the alias pointed to when this client moved it: the compare in compare-and-swap. */
  previousVersionId: Id.nullable(),
  kind: z.enum(['promote', 'rollback']),
  forced: z.boolean(),
  gate: z.unknown(),
  reason: z.string().nullable(),
  cause: z.string().nullable(),
  time: z.string(),
  actor: z.string(),
})
export type AliasMovePayload = z.infer<typeof AliasMovePayload>

export const AuditPayload = z.object({
  uid: Id,
  time: z.string(),
  actor: z.string(),
  action: z.string(),
  entityType: z.string(),
  entityId: z.string(),
  before: z.unknown(),
  after: z.unknown(),
  reason: z.string().nullable(),
})
export type AuditPayload = z.infer<typeof AuditPayload>

export const payloadSchemas = {
  'dataset_version.create': DatasetVersionPayload,
  'run.create': RunPayload,
  'run.end': RunPayload,
  'metric.segment': SegmentPayload,
  'model_version.create': ModelVersionPayload,
  'alias.move': AliasMovePayload,
  'audit.append': AuditPayload,
} as const
export type OpKind = keyof typeof payloadSchemas
export const OpKind = z.enum(Object.keys(payloadSchemas) as [OpKind, ...OpKind[]])

export const Op = z.object({ opId: z.string().min(1).max(400), kind: OpKind, payload: z.unknown() })
export type Op = z.infer<typeof Op>

export const PushRequest = z.object({ project: Name, ops: z.array(Op).min(1).max(MAX_BATCH_OPS) })
export type PushRequest = z.infer<typeof PushRequest>

/** Ops named by id alone: the server answers `duplicate` for those it applied already, so a resend need not carry their payloads. */
export const MAX_RESEND_OPS = 5000
export const ResendRequest = z.object({
  project: Name,
  ops: z
    .array(Op.pick({ opId: true, kind: true }))
    .min(1)
    .max(MAX_RESEND_OPS),
})
export type ResendRequest = z.infer<typeof ResendRequest>

export const Outcome = z.enum(['applied', 'duplicate', 'conflict', 'missing_ref', 'forbidden', 'invalid'])
export type Outcome = z.infer<typeof Outcome>

export const AliasState = z.object({
  versionId: z.string().nullable(),
  version: z.number().nullable(),
  movedBy: z.string().nullable(),
  movedAt: z.string().nullable(),
})
export type AliasState = z.infer<typeof AliasState>

export const OpResult = z.object({
  opId: z.string(),
  outcome: Outcome,
  message: z.string().optional(),
  /** For a duplicate: what the first arrival was answered. */
  original: Outcome.optional(),
  /** The display number the server gave a dataset or model version. */
  number: z.number().int().optional(),
  /** For an alias conflict: where the alias points now, who moved it there and when. */
  current: AliasState.optional(),
})
export type OpResult = z.infer<typeof OpResult>

export const PushResponse = z.object({ results: z.array(OpResult) })
export type PushResponse = z.infer<typeof PushResponse>

export const ChangeKind = z.enum(['dataset_version', 'run', 'segment', 'model_version', 'alias_move', 'audit'])
export type ChangeKind = z.infer<typeof ChangeKind>

/** One entry of the server's change log, with the record as it is now. */
export const Change = z.object({
  seq: z.number().int(),
  kind: ChangeKind,
  id: z.string(),
  number: z.number().int().nullable(),
  body: z.record(z.string(), z.unknown()),
  originClient: z.string().nullable(),
  user: z.string(),
  at: z.string(),
})
export type Change = z.infer<typeof Change>

export const PullResponse = z.object({ changes: z.array(Change), last: z.number().int(), more: z.boolean() })
export type PullResponse = z.infer<typeof PullResponse>

/** Per kind of record: how many, and the SHA-256 of their sorted digest lines. */
export const Digest = z.record(z.string(), z.object({ count: z.number().int(), sha256: z.string() }))
export type Digest = z.infer<typeof Digest>

/** Digest lines: both sides write the same line for the same record. */
export const digestLine = {
  dataset_version: (id: string, dataset: string, number: number) => `${id}|${dataset}|${number}`,
  run: (id: string, status: string) => `${id}|${status}`,
  segment: (runId: string, name: string, segment: number, points: number) => `${runId}|${name}|${segment}|${points}`,
  model_version: (id: string, model: string, number: number) => `${id}|${model}|${number}`,
  alias: (model: string, alias: string, versionId: string) => `${model}|${alias}|${versionId}`,
  alias_move: (uid: string) => uid,
  audit: (uid: string) => uid,
}
export type DigestKind = keyof typeof digestLine

/** `sha256` hashes text to hex (node:crypto on both sides; kept out so this file stays pure). */
export function digestOf(lines: Record<DigestKind, string[]>, sha256: (text: string) => string): Digest {
  const digest: Digest = {}
  for (const kind of Object.keys(digestLine) as DigestKind[]) {
    const sorted = [...(lines[kind] ?? [])].sort()
    digest[kind] = { count: sorted.length, sha256: sha256(sorted.join('\n')) }
  }
  return digest
}

/** The kinds where two digests differ, with both counts. */
export function digestDifferences(local: Digest, server: Digest): Array<{ kind: string; local: number; server: number }> {
  const kinds = new Set([...Object.keys(local), ...Object.keys(server)])
  return [...kinds]
    .filter((k) => local[k]?.sha256 !== server[k]?.sha256)
    .map((kind) => ({ kind, local: local[kind]?.count ?? 0, server: server[kind]?.count ?? 0 }))
}
