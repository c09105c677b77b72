export { monitoringEvents, monitoringOperations } from './operations.js'
export { monitorScheduler } from './scheduler.js'
