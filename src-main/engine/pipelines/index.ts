export { pipelinesEvents, pipelinesOperations } from './operations.js'
export { isPipelineFileError, pipelineFilePath } from './definition.js'
export { pipelinesServices, startPipelinesService } from './service.js'
export type { PipelineRun, PipelineStatus, StageRun, StageStatus } from './types.js'
