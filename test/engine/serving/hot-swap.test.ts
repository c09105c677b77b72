import { describe, expect, it } from 'vitest'
import { expectedIris, irisClassifierOnnx, irisSignature, writeModel } from '../../fixtures/serving/onnx-models.js'
import { openTestEngine, tempDir } from '../../helpers/workspace.js'
import { servingFixture } from './helpers.js'

const row = { petal_length: 4.5, petal_width: 1.5, color: 'green' }

interface Outcome {
  status: number
  version: string | null
  requestId: string | null
  rows: number
}

/** Clients that each send one request after another until told to stop, like a steady production load. */
function steadyLoad(url: string, clients: number) {
  const outcomes: Outcome[] = []
  const failures: string[] = []
  let running = true
  const loops = Array.from({ length: clients }, async (_, c) => {
    let i = 0
    while (running) {
      const v2 = (c + i++) % 2 === 0
      try {
        const response = v2
          ? await fetch(`${url}/v2/models/iris/infer`, {
              method: 'POST',
              headers: { 'content-type': 'application/json' },
              body: JSON.stringify({
                inputs: Object.entries(row).map(([name, v]) => ({ name, shape: [1, 1], datatype: typeof v === 'string' ? 'BYTES' : 'FP32', data: [v] })),
              }),
            })
          : await fetch(`${url}/invocations`, {
              method: 'POST',
              headers: { 'content-type': 'application/json' },
              body: JSON.stringify({ dataframe_records: [row, row] }),
            })
        await response.arrayBuffer()
        outcomes.push({
          status: response.status,
          version: response.headers.get('x-model-version'),
          requestId: response.headers.get('x-request-id'),
          rows: v2 ? 1 : 2,
        })
      } catch (error) {
        failures.push((error as Error).message)
      }
    }
  })
  return {
    outcomes,
    failures,
    stop: async () => {
      running = false
      await Promise.all(loops)
    },
  }
}

async function until(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 10))
  }
}

describe('hot swap when the production alias moves', () => {
  it('a promotion and a rollback under steady load give zero failed requests, and the log holds every request', async () => {
    const f = servingFixture()
    f.models.add('iris', 1, irisClassifierOnnx(1), irisSignature)
    f.models.add('iris', 2, irisClassifierOnnx(3), irisSignature)
    f.models.setAlias('iris', 'production', 1)
    const { url } = await f.engine.call('serving.start', { port: 0, models: [{ model: 'iris' }] })
    const swaps: unknown[] = []
    f.engine.events.subscribe(['serving.swapped'], (e) => swaps.push(e.payload))

    const load = steadyLoad(url!, 8)
    await until(() => load.outcomes.length > 50, 'traffic on v1')
    f.models.setAlias('iris', 'production', 2) // promote
    await until(() => load.outcomes.some((o) => o.version === '2'), 'traffic on v2')
    const atPromotion = load.outcomes.length
    await until(() => load.outcomes.length > atPromotion + 50, 'more traffic on v2')
    f.models.setAlias('iris', 'production', 1) // roll back
    const atRollback = load.outcomes.length
    await until(() => load.outcomes.slice(atRollback).some((o) => o.version === '1'), 'traffic back on v1')
    await until(() => load.outcomes.length > atRollback + 50, 'more traffic after the rollback')
    await load.stop()

    expect(load.failures).toEqual([])
    expect(load.outcomes.filter((o) => o.status !== 200)).toEqual([])
    expect(swaps).toEqual([
      { model: 'iris', from: 1, to: 2 },
      { model: 'iris', from: 2, to: 1 },
    ])
    // Once v1 answers again after the rollback, v2 never answers again: the switch is one step.
    const lastV2 = load.outcomes.findLastIndex((o) => o.version === '2')
    const firstV1After = load.outcomes.findIndex((o, i) => i > atRollback && o.version === '1')
    expect(lastV2).toBeLessThan(firstV1After + 8) // at most the 8 requests that were already in flight

    // The log holds every answered row, with the version that answered it.
    await f.service.log.drain()
    const conn = await f.engine.workspace.monitor()
    const logged = (
      await conn.runAndReadAll(
        `SELECT version, count(*)::INTEGER AS n, count(DISTINCT request_id)::INTEGER AS requests FROM prediction_log GROUP BY version ORDER BY version`,
      )
    ).getRowObjectsJS()
    const sent = (v: string) => load.outcomes.filter((o) => o.version === v)
    expect(logged).toEqual([
      { version: 1, n: sent('1').reduce((s, o) => s + o.rows, 0), requests: sent('1').length },
      { version: 2, n: sent('2').reduce((s, o) => s + o.rows, 0), requests: sent('2').length },
    ])
  }, 60_000)

  it('with the real registry: promote and rollback under load, zero failures, answers from the right version', async () => {
    const engine = openTestEngine()
    const files = tempDir()
    await engine.call('registry.versions.import', { file: writeModel(files, 'v1', irisClassifierOnnx(1)), name: 'iris' })
    await engine.call('registry.versions.import', { file: writeModel(files, 'v2', irisClassifierOnnx(3)), name: 'iris' })
    await engine.call('registry.promote', { model: 'iris', version: 1, alias: 'production', force: true, reason: 'test' })
    const { url } = await engine.call('serving.start', { port: 0, models: [{ model: 'iris' }] })

    const load = steadyLoad(url!, 6)
    await until(() => load.outcomes.length > 30, 'traffic on v1')
    await engine.call('registry.promote', { model: 'iris', version: 2, alias: 'production', force: true, reason: 'test' })
    await until(() => load.outcomes.some((o) => o.version === '2'), 'traffic on v2')
    const atPromotion = load.outcomes.length
    await until(() => load.outcomes.length > atPromotion + 30, 'more traffic on v2')
    await engine.call('registry.rollback', { model: 'iris', alias: 'production', reason: 'test' })
    const atRollback = load.outcomes.length
    await until(() => load.outcomes.slice(atRollback).some((o) => o.version === '1'), 'traffic back on v1')
    await until(() => load.outcomes.length > atRollback + 30, 'more traffic after the rollback')
    await load.stop()

    expect(load.failures).toEqual([])
    expect(load.outcomes.filter((o) => o.status !== 200)).toEqual([])
    const v2 = await fetch(`${url}/v2/models/iris/versions/2/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        inputs: Object.entries(row).map(([name, v]) => ({ name, shape: [1], datatype: typeof v === 'string' ? 'BYTES' : 'FP32', data: [v] })),
      }),
    }).then((r) => r.json() as Promise<any>)
    expect(v2.outputs[0].data).toEqual([expectedIris(row, 3).label])
    expect((await engine.call('serving.status', {})).deployments[0]!.version).toBe(1)
  }, 60_000)

  it('a version that fails to load leaves the old one serving', async () => {
    const f = servingFixture()
    f.models.add('iris', 1, irisClassifierOnnx(), irisSignature)
    f.models.add('iris', 2, Buffer.from('not an onnx model'), irisSignature)
    f.models.setAlias('iris', 'production', 1)
    const { url } = await f.engine.call('serving.start', { port: 0, models: [{ model: 'iris' }] })
    const failed = new Promise((resolve) => f.engine.events.subscribe(['serving.swap_failed'], (e) => resolve(e.payload)))
    f.models.setAlias('iris', 'production', 2)
    expect(await failed).toMatchObject({ model: 'iris' })
    const res = await fetch(`${url}/invocations`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ dataframe_records: [row] }),
    })
    expect(res.status).toBe(200)
    expect(res.headers.get('x-model-version')).toBe('1')
    expect(((await res.json()) as any).predictions).toEqual([expectedIris(row).label])
    const status = await f.engine.call('serving.status', {})
    expect(status.deployments[0]!.error).toContain('could not switch')
  })
})
