import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { Engine } from '../../../src-main/engine/engine.js'
import { afterThisTest, tempDir } from '../../helpers/workspace.js'
import { replayWeatherDays, trainWeatherModel } from './engineHelpers.js'

describe('background services start once, for the kind of engine', () => {
  let previousTick: string | undefined
  beforeEach(() => {
    previousTick = process.env.LATHE_MONITOR_TICK_MS
    // A schedule that would be checked every 20 ms if anything ticked it.
    process.env.LATHE_MONITOR_TICK_MS = '20'
  })
  afterEach(() => {
    if (previousTick === undefined) delete process.env.LATHE_MONITOR_TICK_MS
    else process.env.LATHE_MONITOR_TICK_MS = previousTick
  })

  it('a one-shot engine never runs a scheduled monitor, even when a command outlives the schedule; a long-lived one does', async () => {
    const dir = tempDir()
    const oneShot = Engine.open({ workspaceDir: dir, holder: 'test' })
    expect(oneShot.services).toEqual(['training.orphans', 'registry.auto-register', 'pipelines.monitor-runner'])
    await trainWeatherModel(oneShot)
    await replayWeatherDays(oneShot, { year: 2013, shiftTemp: 0, prefix: 'a', limit: 60 })
    await oneShot.call('monitoring.monitors.add', {
      name: 'due',
      model: 'weather',
      spec: { window: { last: 60 }, minRows: 10, schedule: { everyRequests: 10 } },
    })
    // Every monitoring operation used to start the scheduler as a side effect.
    await oneShot.call('monitoring.monitors.list', {})
    await oneShot.call('monitoring.drift', { model: 'weather', last: 60 })
    // The command lives on for many ticks of a schedule that is due.
    await new Promise((resolve) => setTimeout(resolve, 400))
    const [monitor] = await oneShot.call('monitoring.monitors.list', {})
    expect(monitor).toMatchObject({ name: 'due', lastRunAt: null })
    expect((await oneShot.call('monitoring.reports.list', { model: 'weather' })).filter((r) => r.monitorId !== null)).toEqual([])
    await oneShot.close()

    // The same workspace under an engine that stays up: the due monitor runs on its own.
    const longLived = Engine.open({ workspaceDir: dir, holder: 'test', host: 'long-lived' })
    afterThisTest(() => longLived.close())
    expect(longLived.services).toEqual(['training.queue', 'registry.auto-register', 'monitoring.scheduler', 'pipelines.monitor-runner', 'sync.background'])
    const report = await new Promise((resolve) => longLived.events.subscribe(['monitoring.report'], (event) => resolve(event.payload)))
    expect(report).toMatchObject({ monitor: 'due', model: 'weather', status: 'ran' })
    const [ran] = await longLived.call('monitoring.monitors.list', {})
    expect(ran!.lastRunAt).not.toBeNull()
  })
})
