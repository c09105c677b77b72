export { defineOperation, defineOperations } from './define.js'
export type { Operation } from './define.js'
export { EventBus, defineEvents } from './events.js'
export { parseInput } from './validate.js'
