import { defineOperations } from '../api/define.js'
import { defineEvents } from '../api/events.js'

export const monitoringOperations = defineOperations('monitoring', {})

export const monitoringEvents = defineEvents({})
