export { monitoringEvents, monitoringOperations, monitoringServices } from './operations.js'
