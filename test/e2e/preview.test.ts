import path from 'node:path'
import { DuckDBInstance } from '@duckdb/node-api'
import { describe, expect, it } from 'vitest'
import { createHttpClient } from '../../src-main/engine/api/common/client.js'
import type { Contract } from '../../src-main/engine/contract.js'
import { tempDir } from '../helpers/workspace.js'
import { openApp, screenshot, startUi } from './harness.js'

const ROWS = 10_000_000

/** A 10-million-row Parquet file written by DuckDB: id, id * 0.5, a label. */
async function bigParquet(): Promise<string> {
  const file = path.join(tempDir('lathe-e2e-big-'), 'big.parquet')
  const instance = await DuckDBInstance.create(':memory:')
  const connection = await instance.connect()
  await connection.run(`COPY (SELECT i AS id, i * 0.5 AS half, 'row ' || i AS label FROM range(${ROWS}) t(i)) TO '${file}' (FORMAT parquet)`)
  connection.closeSync()
  instance.closeSync()
  return file
}

describe('the dataset preview of a large version', () => {
  it('jumps to row 9,000,000 of 10,000,000 by asking the engine for that page only, and the link survives a reload', async () => {
    const ui = await startUi()
    const client = createHttpClient<Contract>({ baseUrl: ui.url, token: ui.token })
    await client.call('data.import', { name: 'big', path: await bigParquet() })

    const page = await openApp(ui, undefined, { url: `${ui.url}/#/datasets/big/1/preview?token=${ui.token}` })
    const preview = page.getByRole('table', { name: 'Preview' })
    await page.getByText('10,000,000 rows', { exact: true }).waitFor()
    await preview.getByRole('cell', { name: 'row 0', exact: true }).waitFor()

    const offsets: number[] = []
    page.on('request', (request) => {
      if (request.url().endsWith('/data.preview')) offsets.push((JSON.parse(request.postData() ?? '{}') as { offset: number }).offset)
    })
    await page.getByLabel('Go to row').fill('9,000,000')
    await page.getByRole('button', { name: 'Go', exact: true }).click()
    // Row 9,000,000 (1-based) holds id 8,999,999.
    const target = preview.locator('tbody tr', { hasText: 'row 8999999' })
    await target.waitFor()
    expect(await target.locator('td').first().textContent()).toBe('9,000,000')
    await page.getByText('Showing rows 8,750,000–9,249,999').waitFor()
    // Only the pages on screen were fetched, around the target, never from the top.
    expect(offsets.length).toBeGreaterThan(0)
    expect(offsets.length).toBeLessThanOrEqual(4)
    expect(Math.min(...offsets)).toBeGreaterThanOrEqual(8_999_000)
    await screenshot(page, 'datasets-preview-row-9M')

    await page.reload()
    await page.getByText('10,000,000 rows', { exact: true }).waitFor()
    expect(page.url()).toMatch(/#\/datasets\/big\/1\/preview$/)
  })
})
