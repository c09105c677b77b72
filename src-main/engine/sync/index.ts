export { syncEvents, syncOperations, syncServices } from './operations.js'
