import type { z } from 'zod'
import { dataEvents, dataOperations } from './data/index.js'
import { mlflowOperations } from './mlflow/index.js'
import { monitoringEvents, monitoringOperations, monitoringServices } from './monitoring/index.js'
import { pipelinesEvents, pipelinesOperations, pipelinesServices } from './pipelines/index.js'
import { registryEvents, registryOperations, registryServices } from './registry/index.js'
import { servingEvents, servingOperations } from './serving/index.js'
import { syncEvents, syncOperations, syncServices } from './sync/index.js'
import { systemEvents, systemOperations, workspaceOperations } from './system/index.js'
import { computeOperations, trainingEvents, trainingOperations, trainingServices } from './training/index.js'
import type { Operation, Service } from './api/index.js'

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
  ...syncOperations,
  ...pipelinesOperations,
  ...mlflowOperations,
} satisfies Record<string, Operation<any, any>>

export const eventTopics = {
  ...systemEvents,
  ...dataEvents,
  ...trainingEvents,
  ...registryEvents,
  ...servingEvents,
  ...monitoringEvents,
  ...syncEvents,
  ...pipelinesEvents,
} satisfies Record<string, z.ZodType>

/** Every capability's background services; the engine starts those its kind of host runs. */
export const services: readonly Service[] = [...trainingServices, ...registryServices, ...monitoringServices, ...pipelinesServices, ...syncServices]

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
