export { resolveDatasetVersion } from './resolve.js'
