import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { openApp, screenshot, startUi } from './harness.js'

const weather = path.resolve('node_modules/vega-datasets/data/seattle-weather.csv')

describe('the Datasets page', () => {
  it('imports a CSV picked in the browser, lists it, previews its rows and shows its profile', async () => {
    const ui = await startUi()
    const page = await openApp(ui)
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Datasets' }).click()
    await page.getByText('No datasets yet').waitFor()

    await page.getByLabel('Data file').setInputFiles(weather)
    expect(await page.getByLabel('Dataset name').inputValue()).toBe('seattle-weather')
    await page.getByLabel('Dataset name').fill('weather')
    await page.getByRole('button', { name: 'Import' }).click()

    // The import lands: a toast, the dataset in the list, its first rows in the preview.
    await page.getByText('Imported weather@1').waitFor()
    const list = page.getByRole('list', { name: 'Datasets' })
    await list.getByRole('button', { name: /weather.*1 version.*1,461 rows/ }).waitFor()
    const preview = page.getByRole('table', { name: 'Preview' })
    await preview.getByText('1,461 rows').or(page.getByText('1,461 rows')).first().waitFor()
    await preview.getByRole('cell', { name: 'drizzle' }).first().waitFor()

    // Server-side sort: the windiest day first.
    await preview.getByRole('button', { name: /^wind/ }).click()
    await preview.getByRole('button', { name: /^wind/ }).click()
    await preview.locator('tbody tr').first().getByRole('cell', { name: '9.5', exact: true }).waitFor()
    await screenshot(page, 'datasets-preview')

    await page.getByRole('tab', { name: 'Profile' }).click()
    await page.getByLabel('Profile summary').filter({ hasText: '1,461 rows · 6 columns · 0 duplicate rows' }).waitFor()
    const tempMax = page.getByRole('region', { name: 'Column temp_max' })
    await tempMax.waitFor()
    const facts = await tempMax.locator('dl').innerText()
    expect(facts).toMatch(/min\s+-1\.6/)
    expect(facts).toMatch(/max\s+35\.6/)
    // Numeric columns show a histogram, the categorical one its top values; the date, min/max and quantiles.
    expect(await page.locator('.profile-column .recharts-wrapper').count()).toBe(5)
    await screenshot(page, 'datasets-profile')

    await page.getByRole('tab', { name: 'Validation' }).click()
    await page.getByText('This dataset has no validation rules').waitFor()
  })
})
