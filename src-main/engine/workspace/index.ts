export { ObjectStore, hashFile } from './objects.js'
export { isProcessAlive } from './lock.js'
