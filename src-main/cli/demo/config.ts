import path from 'node:path'
import { projectRoot } from '../../engine/system/versions.js'

/**
 * `lathe demo`: the whole lifecycle on the bundled Seattle weather table, through the
 * same API the UI and the CLI use. Train on 2012-2013, gate and promote, serve,
 * replay 2014-2015 as traffic with late labels, report drift, alert, retrain on the
 * newer data, gate, promote. Needs no network but loopback.
 */
export interface DemoOptions {
  servingPort: number
  epochs: number
  say: (line: string) => void
  progress: (line: string) => void
}

export const DEMO = {
  source: 'seattle-weather',
  reference: 'seattle-weather-2012-2013',
  retrainOn: 'seattle-weather-2012-2014',
  model: 'seattle-weather',
  target: 'weather',
  features: ['precipitation', 'temp_max', 'temp_min', 'wind', 'month'],
} as const

export const demoDataFile = () => path.join(projectRoot(), 'resources', 'data', 'seattle-weather.csv')

export { formatFixed as fmt } from '../../engine/api/common/format.js'
