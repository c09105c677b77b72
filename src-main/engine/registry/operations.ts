import { defineOperations } from '../api/define.js'
import { defineEvents } from '../api/events.js'

export const registryOperations = defineOperations('registry', {})

export const registryEvents = defineEvents({})
