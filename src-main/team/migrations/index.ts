export { migration001 } from './001-accounts.js'
export { migration002 } from './002-audit.js'
export { migration003 } from './003-uploads.js'
