import { z } from 'zod'
import { defineEvents, defineOperation, defineOperations, defineServices, type EventPayloadsOf } from '../api/index.js'
import { connect, disconnect, installObjectFetcher, runSync, teamStatus } from './sync.js'

const AliasNow = z.object({ versionId: z.string().nullable(), version: z.number().nullable(), movedBy: z.string().nullable(), movedAt: z.string().nullable() })
const Conflict = z.object({ opId: z.string(), model: z.string(), alias: z.string(), attempted: z.string(), current: AliasNow.nullable(), message: z.string() })
const Difference = z.object({ kind: z.string(), local: z.number(), server: z.number() })

export const syncOperations = defineOperations('sync', {
  'sync.connect': defineOperation({
    summary: 'Connect this workspace to a team server project (URL and token stored in the workspace, mode 0600)',
    input: z.object({ url: z.string().min(1), token: z.string().min(1), project: z.string().min(1) }).strict(),
    output: z.object({ url: z.string(), project: z.string(), user: z.string() }),
    handler: (input, ctx) => connect(ctx, input),
  }),
  'sync.disconnect': defineOperation({
    summary: 'Forget the team server (the outbox stays: a later connect pushes it)',
    input: z.object({}).strict(),
    output: z.object({ disconnected: z.boolean() }),
    handler: (_input, ctx) => disconnect(ctx),
  }),
  'sync.run': defineOperation({
    summary: 'Push the outbox and pull the team change log; verify also compares digests with the server',
    input: z.object({ push: z.boolean().default(true), pull: z.boolean().default(true), verify: z.boolean().default(false) }).strict(),
    output: z.object({
      agreed: z.boolean(),
      pushed: z.record(z.string(), z.number()),
      pulled: z.number(),
      blobsSent: z.number(),
      left: z.array(z.string()),
      conflicts: z.array(Conflict),
    }),
    handler: (input, ctx) => runSync(ctx, input),
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
})

/** In every engine: an object a pulled record names is fetched from the team server when first read. */
export const syncServices = defineServices({ name: 'sync.objects', runsIn: 'always', start: installObjectFetcher })

export const syncEvents = defineEvents({
  'sync.progress': z.object({ phase: z.enum(['blobs', 'push', 'pull']), done: z.number(), total: z.number().nullable() }),
})

// Typed emit and subscribe: the bus knows these topics' payloads.
declare module '../api/events.js' {
  interface EventPayloadMap extends EventPayloadsOf<typeof syncEvents> {}
}
