import { z } from 'zod'
import { defineOperation, defineOperations } from '../api/define.js'
import { defineEvents } from '../api/events.js'
import { BackendReport, backendNames, probeBackends } from './backends.js'

export const computeOperations = defineOperations('compute', {
  'compute.backends': defineOperation({
    summary: 'Every training backend: available or why not, and which is chosen',
    input: z.object({ pinned: z.enum([...backendNames, 'auto']).default('auto') }).strict(),
    output: z.array(BackendReport),
    handler: ({ pinned }) => probeBackends(pinned),
  }),
})

export const trainingOperations = defineOperations('training', {})

export const trainingEvents = defineEvents({})
