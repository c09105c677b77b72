export { systemEvents, systemOperations, workspaceOperations } from './operations.js'
export { appVersion, packageVersion, projectRoot } from './versions.js'
