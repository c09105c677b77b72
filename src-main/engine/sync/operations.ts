import { z } from 'zod'
import { defineEvents, defineOperation, defineOperations, defineServices, type EventPayloadsOf } from '../api/index.js'
import { backgroundSync, MAX_INTERVAL_S, MIN_INTERVAL_S } from './background.js'
import { pendingOperations, syncMarks } from './marks.js'
import { connect, disconnect, teamStatus } from './sync.js'
import { auditTrail, createToken, decideConflict, listMembers, listTokens, revokeToken, TeamAuditRow, TeamToken, TeamUser, whoAmI } from './team.js'

const AliasNow = z.object({ versionId: z.string().nullable(), version: z.number().nullable(), movedBy: z.string().nullable(), movedAt: z.string().nullable() })
const Conflict = z.object({ opId: z.string(), model: z.string(), alias: z.string(), attempted: z.string(), current: AliasNow.nullable(), message: z.string() })
const Difference = z.object({ kind: z.string(), local: z.number(), server: z.number() })
const Progress = z.object({ phase: z.enum(['blobs', 'push', 'pull']), done: z.number(), total: z.number().nullable() })
const BackgroundState = z.object({
  state: z.enum(['disconnected', 'paused', 'idle', 'syncing', 'offline', 'conflicts', 'error']),
  enabled: z.boolean(),
  intervalS: z.number(),
  lastSync: z.string().nullable(),
  lastAttempt: z.string().nullable(),
  nextAt: z.string().nullable(),
  pending: z.number(),
  conflicts: z.number(),
  failures: z.number(),
  problem: z.string().nullable(),
  progress: Progress.nullable(),
})
const Mark = z.object({
  state: z.enum(['synced', 'pending', 'pulled', 'conflict', 'refused', 'local']),
  by: z.string().nullable(),
  at: z.string().nullable(),
  detail: z.string(),
})

export const syncOperations = defineOperations('sync', {
  'sync.connect': defineOperation({
    summary: 'Connect this workspace to a team server project (URL and token stored in the workspace, mode 0600)',
    input: z.object({ url: z.string().min(1), token: z.string().min(1), project: z.string().min(1) }).strict(),
    output: z.object({ url: z.string(), project: z.string(), user: z.string() }),
    handler: async (input, ctx) => {
      const connected = await connect(ctx, input)
      const background = backgroundSync(ctx)
      background.soon(background.settings().intervalS)
      background.changed()
      return connected
    },
  }),
  'sync.disconnect': defineOperation({
    summary: 'Forget the team server (the outbox stays: a later connect pushes it)',
    input: z.object({}).strict(),
    output: z.object({ disconnected: z.boolean() }),
    handler: async (_input, ctx) => {
      const result = await disconnect(ctx)
      backgroundSync(ctx).changed()
      return result
    },
  }),
  'sync.run': defineOperation({
    summary: 'Push the outbox and pull the team change log, then compare digests',
    input: z.object({ push: z.boolean().default(true), pull: z.boolean().default(true) }).strict(),
    output: z.object({
      agreed: z.boolean(),
      pushed: z.record(z.string(), z.number()),
      pulled: z.number(),
      blobsSent: z.number(),
      left: z.array(z.string()),
      conflicts: z.array(Conflict),
    }),
    // Through the background sync's queue: a manual sync waits for one in progress, never runs beside it.
    handler: (input, ctx) => backgroundSync(ctx).run(input),
  }),
  'sync.status': defineOperation({
    summary: 'Connection, pending operations, last sync, open conflicts; verify compares digests with the server',
    input: z.object({ verify: z.boolean().default(false) }).strict(),
    output: z.object({
      connected: z.boolean(),
      url: z.string().nullable(),
      project: z.string().nullable(),
      clientId: z.string(),
      pending: z.number(),
      outbox: z.record(z.string(), z.number()),
      lastSync: z.string().nullable(),
      lastPulledSeq: z.number(),
      conflicts: z.array(Conflict),
      verified: z.object({ agreed: z.boolean(), differences: z.array(Difference) }).nullable(),
    }),
    handler: (input, ctx) => teamStatus(ctx, input),
  }),
  'sync.background': defineOperation({
    summary: 'Background sync: its state (idle, syncing, offline, conflicts...), last and next sync, pending count',
    input: z.object({}).strict(),
    output: BackgroundState,
    handler: (_input, ctx) => backgroundSync(ctx).state(),
  }),
  'sync.background.configure': defineOperation({
    summary: 'Switch background sync on or off, or set its interval in seconds (stored in the workspace)',
    input: z
      .object({
        enabled: z.boolean().optional(),
        intervalS: z.number().int().min(MIN_INTERVAL_S).max(MAX_INTERVAL_S).optional(),
      })
      .strict(),
    output: BackgroundState,
    handler: (input, ctx) => backgroundSync(ctx).configure(input),
  }),
  'sync.marks': defineOperation({
    summary: 'Synced, pending, pulled (from whom), conflict or refused, for runs, datasets and models and their versions',
    input: z
      .object({
        runs: z.array(z.string()).max(5000).default([]),
        datasetVersions: z.array(z.string()).max(5000).default([]),
        modelVersions: z.array(z.string()).max(5000).default([]),
        datasets: z.array(z.string()).max(1000).default([]),
        models: z.array(z.string()).max(1000).default([]),
      })
      .strict(),
    output: z.object({
      connected: z.boolean(),
      runs: z.record(z.string(), Mark),
      datasetVersions: z.record(z.string(), Mark),
      modelVersions: z.record(z.string(), Mark),
      datasets: z.record(z.string(), Mark),
      models: z.record(z.string(), Mark),
    }),
    handler: (input, ctx) => syncMarks(ctx, input),
  }),
  'sync.pending': defineOperation({
    summary: 'The operations not pushed yet, oldest first, named as the pages name them',
    input: z.object({ limit: z.number().int().min(1).max(1000).default(100) }).strict(),
    output: z.object({
      total: z.number(),
      operations: z.array(z.object({ opId: z.string(), kind: z.string(), state: z.string(), createdAt: z.string(), label: z.string() })),
    }),
    handler: (input, ctx) => pendingOperations(ctx, input.limit),
  }),
  'sync.conflicts.decide': defineOperation({
    summary: 'Decide again on a refused alias move: promote (the gate re-runs against the current version) or drop it',
    input: z
      .object({
        opId: z.string().min(1),
        decision: z.enum(['promote', 'drop']),
        force: z.boolean().default(false),
        reason: z.string().optional(),
      })
      .strict(),
    output: z.object({
      opId: z.string(),
      decision: z.enum(['promoted', 'dropped']),
      model: z.string(),
      alias: z.string(),
      version: z.number().nullable(),
      promotion: z.unknown(),
      message: z.string(),
    }),
    handler: (input, ctx) => decideConflict(ctx, input),
  }),
  'sync.team.whoami': defineOperation({
    summary: "Who the stored token is on the team server: user, role, this project's role, admin or not",
    input: z.object({}).strict(),
    output: z.object({
      user: z.string(),
      tokenId: z.string(),
      role: z.string().nullable(),
      projects: z.record(z.string(), z.string()),
      project: z.string(),
      projectRole: z.string().nullable(),
      admin: z.boolean(),
    }),
    handler: (_input, ctx) => whoAmI(ctx),
  }),
  'sync.team.members': defineOperation({
    summary: "The team server's users and their roles (admins only)",
    input: z.object({}).strict(),
    output: z.array(TeamUser),
    handler: (_input, ctx) => listMembers(ctx),
  }),
  'sync.team.tokens.list': defineOperation({
    summary: "The team server's tokens (an admin sees all, others their own)",
    input: z.object({}).strict(),
    output: z.array(TeamToken),
    handler: (_input, ctx) => listTokens(ctx),
  }),
  'sync.team.tokens.create': defineOperation({
    summary: 'Create a token for a team user (admins only); the secret is shown once',
    input: z.object({ user: z.string().min(1), expires: z.string().min(1).nullable().optional() }).strict(),
    output: TeamToken.extend({ token: z.string() }),
    handler: (input, ctx) => createToken(ctx, input),
  }),
  'sync.team.tokens.revoke': defineOperation({
    summary: 'Revoke a team token (admins, or the token owner); the next request with it is refused',
    input: z.object({ id: z.string().min(1) }).strict(),
    output: TeamToken,
    handler: (input, ctx) => revokeToken(ctx, input.id),
  }),
  'sync.team.audit': defineOperation({
    summary: "The team server's audit trail, newest first (admins only)",
    input: z.object({ limit: z.number().int().min(1).max(1000).default(100), before: z.number().int().min(1).optional() }).strict(),
    output: z.object({
      rows: z.array(TeamAuditRow),
      more: z.boolean(),
    }),
    handler: (input, ctx) => auditTrail(ctx, input),
  }),
})

/** Long-lived engines (the app, `lathe ui`, `lathe serve`) sync in the background while connected. */
export const syncServices = defineServices({ name: 'sync.background', runsIn: 'long-lived', start: (ctx) => backgroundSync(ctx).start() })

export const syncEvents = defineEvents({
  'sync.progress': Progress,
  /** Background sync's state after every change (a sync started or ended, a setting changed). */
  'sync.state': BackgroundState,
})

// Typed emit and subscribe: the bus knows these topics' payloads.
declare module '../api/events.js' {
  interface EventPayloadMap extends EventPayloadsOf<typeof syncEvents> {}
}
