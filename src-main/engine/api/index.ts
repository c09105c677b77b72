export { defineOperation, defineOperations, defineServices } from './define.js'
export type { HostKind, Operation, Service } from './define.js'
export { EventBus, defineEvents } from './events.js'
export { parseInput } from './validate.js'
