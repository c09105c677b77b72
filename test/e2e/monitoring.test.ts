import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { describe, expect, it } from 'vitest'
import { DuckDBInstance } from '@duckdb/node-api'
import { createHttpClient } from '../../src-main/engine/api/common/client.js'
import type { Contract } from '../../src-main/engine/contract.js'
import { Engine } from '../../src-main/engine/engine.js'
import { tempDir } from '../helpers/workspace.js'
import { trainWeatherModel, weatherCsv } from '../engine/monitoring/engineHelpers.js'
import { openApp, screenshot, startUi } from './harness.js'

/** seattle-weather days of one year as request rows; `warmer` shifts both temperatures (a drifted climate). */
async function weatherDays(year: number, warmer: number): Promise<Array<Record<string, number | string>>> {
  const instance = await DuckDBInstance.create(':memory:')
  const conn = await instance.connect()
  const reader = await conn.runAndReadAll(
    `SELECT precipitation, temp_max + ${warmer} AS temp_max, temp_min + ${warmer} AS temp_min, wind, weather
     FROM read_csv('${weatherCsv}') WHERE year(date) = ${year} ORDER BY date`,
  )
  const rows = reader.getRowObjectsJS() as Array<Record<string, number | string>>
  conn.closeSync()
  instance.closeSync()
  return rows
}

describe('the Monitoring page', () => {
  it('shows drift charts and an alert after drifted traffic is replayed to the endpoint, and acknowledges it', async () => {
    // A workspace with a real trained weather classifier in production and a monitor whose rule alerts on dataset drift.
    const workspace = tempDir('lathe-e2e-monitoring-')
    const engine = Engine.open({ workspaceDir: workspace, holder: 'e2e setup' })
    await trainWeatherModel(engine)
    await engine.call('monitoring.monitors.add', { name: 'weather-drift', model: 'weather', spec: { window: { last: 365 } } })
    await engine.call('monitoring.rules.add', {
      monitor: 'weather-drift',
      name: 'dataset drift',
      metric: 'dataset_drift',
      op: '>=',
      threshold: 1,
      actions: [{ type: 'notify' }],
    })
    await engine.close()

    const ui = await startUi(workspace)
    const client = createHttpClient<Contract>({ baseUrl: ui.url, token: ui.token })
    const serving = await client.call('serving.start', { port: 0, models: [{ model: 'weather', default: true }] })
    const endpoint = serving.url!

    // Replay 2015, 12 °C warmer, to the endpoint as a client would, in batches of 73 days.
    const days = await weatherDays(2015, 12)
    const labels: Array<{ request_id: string; row_index: number; label: string }> = []
    for (let i = 0; i < days.length; i += 73) {
      const batch = days.slice(i, i + 73)
      const response = await fetch(`${endpoint}/invocations`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-request-id': `day-${i}` },
        body: JSON.stringify({ dataframe_records: batch.map(({ weather: _label, ...inputs }) => inputs) }),
      })
      expect(response.status).toBe(200)
      expect(response.headers.get('x-request-id')).toBe(`day-${i}`)
      batch.forEach((day, row) => labels.push({ request_id: `day-${i}`, row_index: row, label: String(day.weather) }))
    }
    // The prediction log is written in the background: wait until every row is in.
    for (let tries = 0; tries < 100; tries++) {
      const stats = await client.call('monitoring.quality', { model: 'weather', last: 1000 })
      if (stats.rows >= days.length) break
      await new Promise((r) => setTimeout(r, 100))
    }

    // The true weather of each day arrives later, by request id, through the endpoint.
    const feedback = await fetch(`${endpoint}/v2/models/weather/feedback`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ items: labels }),
    })
    expect(feedback.status).toBe(200)
    expect(await feedback.json()).toMatchObject({ recorded: days.length, unknown: [] })

    const page = await openApp(ui)
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Monitoring' }).click()
    await page.getByRole('heading', { name: 'Monitoring', level: 1 }).waitFor()
    await page.getByText('No drift reports yet').waitFor()

    // Run the monitor from its editor: the rule fires.
    await page.getByRole('button', { name: 'Run now' }).click()
    const alerts = page.getByRole('table', { name: 'Alerts' })
    const openAlert = alerts.locator('tbody tr').filter({ hasText: 'dataset_drift' }).filter({ hasText: 'open' })
    await openAlert.waitFor()

    // Drift over time has its first point; the overlays show both temperatures drifted and the wind not.
    await page.locator('figure[aria-label="Dataset drift share over time"][data-points="1"]').waitFor()
    await page.locator('figure[aria-label="Distribution of temp_max"][data-drifted="yes"]').waitFor()
    await page.locator('figure[aria-label="Distribution of temp_min"][data-drifted="yes"]').waitFor()
    expect(await page.locator('figure[aria-label="Distribution of temp_max"] .recharts-bar-rectangle').count()).toBeGreaterThan(10)
    await page.locator('figure[aria-label="Drift of temp_max over time"]').waitFor()
    // Labels joined to the logged rows: quality over time has its first point.
    await page.locator('figure[aria-label="Quality over time"][data-points="1"]').waitFor()
    await screenshot(page, 'monitoring-drift-alert')
    // The page scrolls inside the app shell: one picture per part.
    await page.locator('figure[aria-label="Distribution of temp_max"]').scrollIntoViewIfNeeded()
    await screenshot(page, 'monitoring-overlays')
    await page.locator('figure[aria-label="Quality over time"]').scrollIntoViewIfNeeded()
    await screenshot(page, 'monitoring-quality-alerts')

    // A check by hand is a series of its own beside the monitor's, on a time axis; p-values on a log axis.
    await page.getByRole('button', { name: 'Check drift now' }).click()
    const shareFigure = page.locator('figure[aria-label="Dataset drift share over time"][data-points="2"][data-series="2"]')
    await shareFigure.waitFor()
    expect(await shareFigure.locator('.recharts-xAxis .recharts-cartesian-axis-tick').count()).toBeGreaterThan(0)
    // Each feature chart plots what its test decides on: p-values on a log axis, distances on a linear one.
    for (const figure of await page.locator('figure[aria-label^="Drift of "]').all()) {
      const caption = (await figure.locator('figcaption').textContent()) ?? ''
      expect(await figure.getAttribute('data-scale')).toBe(caption.includes('p-value') ? 'log' : 'linear')
    }
    expect(await page.locator('figure[aria-label="Drift of temp_max over time"] .recharts-xAxis').count()).toBe(1)
    await screenshot(page, 'monitoring-drift-series')

    // Every column in one sortable table; drifted first when sorted by verdict.
    const byColumn = page.getByRole('table', { name: 'Drift by column' })
    await byColumn.getByRole('button', { name: 'Verdict' }).click()
    const firstRow = await byColumn.locator('tbody tr').first().textContent()
    expect(firstRow).toContain('drifted')
    await byColumn.scrollIntoViewIfNeeded()
    await screenshot(page, 'monitoring-drift-table')

    // The report as one HTML file that opens with the network cut.
    const download = page.waitForEvent('download')
    await page.getByRole('button', { name: 'Export HTML' }).click()
    const file = path.join(tempDir('lathe-e2e-report-'), (await download).suggestedFilename())
    await (await download).saveAs(file)
    const offline = await page.context().browser()!.newContext()
    await offline.setOffline(true)
    const requests: string[] = []
    const reportPage = await offline.newPage()
    reportPage.on('request', (r) => requests.push(r.url()))
    await reportPage.goto(pathToFileURL(file).href)
    await reportPage.getByRole('heading', { level: 1, name: /Drift report: weather/ }).waitFor()
    await reportPage.getByRole('cell', { name: 'temp_max', exact: true }).waitFor()
    expect(await reportPage.getByRole('img', { name: 'Distribution of temp_max' }).count()).toBe(1)
    expect(requests.filter((u) => !u.startsWith('file:'))).toEqual([])
    await screenshot(reportPage, 'drift-report-export')
    await offline.close()

    await openAlert.getByRole('button', { name: 'Acknowledge' }).click()
    await alerts.locator('tbody tr').filter({ hasText: 'dataset_drift' }).filter({ hasText: 'acknowledged' }).waitFor()
    const stored = await client.call('monitoring.alerts.list', { model: 'weather' })
    expect(stored).toHaveLength(1)
    expect(stored[0]!.status).toBe('acknowledged')
    await client.call('serving.stop', {})
  }, 240_000)
})
