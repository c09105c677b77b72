export { mlflowOperations } from './operations.js'
export type { ScriptRun } from './operations.js'
export { mlflowApiRoutes, mlflowArtifactRoutes, mlflowUnsupportedRoutes } from './routes.js'
