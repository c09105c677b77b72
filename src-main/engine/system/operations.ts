import os from 'node:os'
import { z } from 'zod'
import { defineOperation, defineOperations } from '../api/index.js'
import { defineEvents } from '../api/index.js'
import { appVersion, libraryVersions } from './versions.js'

const SystemInfo = z.object({
  app: z.string(),
  node: z.string(),
  platform: z.string(),
  arch: z.string(),
  cpus: z.number(),
  memoryBytes: z.number(),
  hostname: z.string(),
  pid: z.number(),
  versions: z.record(z.string(), z.string().nullable()),
})

const WorkspaceInfo = z.object({
  dir: z.string(),
  schemaVersion: z.number(),
  apiUrl: z.string().nullable(),
  objects: z.object({ count: z.number(), bytes: z.number() }),
  pid: z.number(),
})

export const systemOperations = defineOperations('system', {
  'system.info': defineOperation({
    summary: 'The app, Node and library versions, and the machine it runs on',
    input: z.object({}).strict(),
    output: SystemInfo,
    handler: () => ({
      app: appVersion(),
      node: process.version,
      platform: process.platform,
      arch: process.arch,
      cpus: os.cpus().length,
      memoryBytes: os.totalmem(),
      hostname: os.hostname(),
      pid: process.pid,
      versions: libraryVersions(),
    }),
  }),
})

export const workspaceOperations = defineOperations('workspace', {
  'workspace.info': defineOperation({
    summary: 'Where the open workspace is, its schema version and object store size',
    input: z.object({}).strict(),
    output: WorkspaceInfo,
    handler: async (_input, ctx) => {
      let count = 0
      let bytes = 0
      const fs = await import('node:fs/promises')
      for await (const sha of ctx.workspace.objects.list()) {
        count++
        bytes += (await fs.stat(ctx.workspace.objects.pathOf(sha))).size
      }
      return {
        dir: ctx.workspace.dir,
        schemaVersion: ctx.workspace.schema.to,
        apiUrl: ctx.apiUrl(),
        objects: { count, bytes },
        pid: process.pid,
      }
    },
  }),
})

export const systemEvents = defineEvents({
  'system.log': z.object({ level: z.enum(['info', 'warn', 'error']), message: z.string() }),
})
