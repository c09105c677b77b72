import type { Client } from '../session.js'
import { buildModel, prepareData } from './build.js'
import type { DemoOptions } from './config.js'
import { monitorAndRetrain, promoteAndServe, replayTraffic } from './operate.js'

/**
 * `lathe demo`: the whole lifecycle on the bundled Seattle weather table, through the
 * same API the UI and the CLI use (the steps are in build.ts and operate.ts; the
 * scenario's names and options in config.ts).
 */
export async function runDemo(client: Client, options: DemoOptions) {
  const workspace = (await client.call('workspace.info', {})).dir
  const data = await prepareData(client, options)
  const model = await buildModel(client, options, data)
  const serving = await promoteAndServe(client, options, model)
  const traffic = await replayTraffic(client, options, serving, data)
  const loop = await monitorAndRetrain(client, options, data, traffic)
  return { workspace, data, model, serving, traffic, ...loop }
}
