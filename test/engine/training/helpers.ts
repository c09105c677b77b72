import path from 'node:path'
import type { Engine } from '../../../src-main/engine/engine.js'

export const vegaData = (file: string) => path.resolve('node_modules/vega-datasets/data', file)

/** Imports one of the vega-datasets tables as a dataset version. */
export async function importVega(engine: Engine, file: string, name: string): Promise<void> {
  await engine.call('data.import', { name, path: vegaData(file) })
}
