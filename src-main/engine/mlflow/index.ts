export { mlflowOperations } from './operations.js'
export type { ScriptRun } from './operations.js'
export { mlflowApiRoutes, mlflowArtifactRoutes } from './routes.js'
