export { servingEvents, servingOperations } from './operations.js'
export { recentServingRequests } from './service.js'
