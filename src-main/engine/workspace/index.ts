export { appendAudit } from './audit.js'
export { persistentApiToken, rotateApiToken } from './token.js'
