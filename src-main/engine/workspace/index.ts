export { appendAudit } from './audit.js'
export { persistentApiToken, rememberApiPort, rememberedApiPort, rotateApiToken } from './token.js'
