import type { z } from 'zod'
import { dataEvents, dataOperations } from './data/index.js'
import { monitoringEvents, monitoringOperations } from './monitoring/index.js'
import { registryEvents, registryOperations } from './registry/index.js'
import { servingEvents, servingOperations } from './serving/index.js'
import { systemEvents, systemOperations, workspaceOperations } from './system/index.js'
import { computeOperations, trainingEvents, trainingOperations } from './training/index.js'
import type { Operation } from './api/index.js'

/**
 * The one contract: every capability's operations and event topics. The transports
 * (in-process, HTTP, the renderer's client) are written against this map and never
 * change when a capability gains an operation.
 */
export const operations = {
  ...systemOperations,
  ...workspaceOperations,
  ...computeOperations,
  ...dataOperations,
  ...trainingOperations,
  ...registryOperations,
  ...servingOperations,
  ...monitoringOperations,
} satisfies Record<string, Operation<any, any>>

export const eventTopics = {
  ...systemEvents,
  ...dataEvents,
  ...trainingEvents,
  ...registryEvents,
  ...servingEvents,
  ...monitoringEvents,
} satisfies Record<string, z.ZodType>

export type Operations = typeof operations
export type OperationName = keyof Operations & string

/** What the contract declares, as plain types: what clients are typed against. */
export type Contract = {
  [K in OperationName]: {
    input: z.input<Operations[K]['input']>
    output: z.output<Operations[K]['output']>
  }
}
export type EventPayloads = { [K in keyof typeof eventTopics]: z.output<(typeof eventTopics)[K]> }

export function isOperationName(name: string): name is OperationName {
  return Object.hasOwn(operations, name)
}
