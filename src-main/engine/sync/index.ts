export { syncEvents, syncOperations } from './operations.js'
