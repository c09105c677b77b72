import fs from 'node:fs'
import path from 'node:path'
import { DuckDBInstance } from '@duckdb/node-api'
import { describe, expect, it } from 'vitest'
import { createHttpClient } from '../../src-main/engine/api/common/client.js'
import type { Contract } from '../../src-main/engine/contract.js'
import { tempDir } from '../helpers/workspace.js'
import { openApp, screenshot, startUi } from './harness.js'

describe('importing in the browser', () => {
  it('imports a latin-1 semicolon file with options, and a failed file leaves no name behind for the next', async () => {
    const dir = tempDir('lathe-e2e-import-')
    // Latin-1 bytes (é is 0xE9), semicolons, a comma as the decimal mark inside quotes.
    const latin = path.join(dir, 'städte.csv')
    fs.writeFileSync(latin, Buffer.from('stadt;einwohner;land\nMünchen;1488202;Bayern\nKöln;1073096;NRW\nDüsseldorf;619294;NRW\n', 'latin1'))
    const broken = path.join(dir, 'broken.json')
    fs.writeFileSync(broken, '{"a": 1,\n"b": [oops\n')
    const ui = await startUi()
    const page = await openApp(ui)
    await page.getByText('No datasets yet').waitFor()

    // A file DuckDB cannot read: the error names the file the person picked, never a temp path.
    await page.getByLabel('Data file').setInputFiles(broken)
    expect(await page.getByLabel('Dataset name').inputValue()).toBe('broken')
    await page.getByRole('button', { name: 'Import' }).click()
    const problem = page.locator('.error-banner, .field-error').first()
    await problem.waitFor()
    const said = (await problem.textContent()) ?? ''
    expect(said).toContain('broken.json')
    expect(said).not.toMatch(/upload-|\/tmp\/|[0-9a-f]{8}-[0-9a-f]{4}/)

    // The next file gets its own name, not the failed one's.
    await page.getByLabel('Data file').setInputFiles(latin)
    expect(await page.getByLabel('Dataset name').inputValue()).toBe('st-dte')
    await page.getByLabel('Dataset name').fill('cities')
    await page.getByText('Reading options').click()
    await page.getByLabel('Delimiter').selectOption(';')
    await page.getByLabel('Header row').selectOption('yes')
    await page.getByLabel('Encoding').selectOption('latin-1')
    await page.getByLabel('Column types').fill('einwohner=BIGINT')
    await screenshot(page, 'datasets-import-options')
    await page.getByRole('button', { name: 'Import' }).click()
    await page.getByText('Imported cities@1').waitFor()
    const preview = page.getByRole('table', { name: 'Preview' })
    await preview.getByRole('cell', { name: 'München', exact: true }).waitFor()
    await preview.getByRole('cell', { name: 'Düsseldorf', exact: true }).waitFor()
    const client = createHttpClient<Contract>({ baseUrl: ui.url, token: ui.token })
    const shown = await client.call('data.show', { dataset: 'cities' })
    expect(shown.version.columns.map((c) => `${c.name} ${c.type}`)).toEqual(['stadt VARCHAR', 'einwohner BIGINT', 'land VARCHAR'])
    await screenshot(page, 'datasets-imported-latin1')
  })

  it('streams a file larger than a request body may be, showing upload progress', async () => {
    const dir = tempDir('lathe-e2e-big-csv-')
    const file = path.join(dir, 'events.csv')
    const instance = await DuckDBInstance.create(':memory:')
    const connection = await instance.connect()
    // About 90 MB: past the 64 MB JSON body limit that refused 76 MB files before.
    await connection.run(
      `COPY (SELECT i AS id, 'event number ' || i || ' of a long stream of events' AS text, i % 97 AS bucket FROM range(1500000) t(i)) TO '${file}' (HEADER, DELIMITER ',')`,
    )
    connection.closeSync()
    instance.closeSync()
    expect(fs.statSync(file).size).toBeGreaterThan(80 * 1024 * 1024)

    const ui = await startUi()
    const page = await openApp(ui)
    const phases: string[] = []
    await page.exposeFunction('recordPhase', (text: string) => phases.push(text))
    await page.getByLabel('Data file').setInputFiles(file)
    await page.evaluate(() => {
      new MutationObserver(() => {
        const text = document.querySelector('.import-progress')?.textContent
        if (text) (window as unknown as { recordPhase: (t: string) => void }).recordPhase(text)
      }).observe(document.body, { subtree: true, childList: true, characterData: true })
    })
    await page.getByRole('button', { name: 'Import' }).click()
    await page.getByText('Imported events@1').waitFor({ timeout: 120_000 })
    expect(phases.some((p) => /uploading events\.csv/.test(p))).toBe(true)
    expect(phases.some((p) => /DuckDB|reading|converting|storing/.test(p))).toBe(true)
    await page.getByText('1,500,000 rows', { exact: true }).waitFor()
  })
})
