import { defineOperations } from '../api/define.js'
import { defineEvents } from '../api/events.js'

export const dataOperations = defineOperations('data', {})

export const dataEvents = defineEvents({})
