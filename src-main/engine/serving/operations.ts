import { defineOperations } from '../api/define.js'
import { defineEvents } from '../api/events.js'

export const servingOperations = defineOperations('serving', {})

export const servingEvents = defineEvents({})
