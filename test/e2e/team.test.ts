import type { Page } from 'playwright-core'
import { describe, expect, it } from 'vitest'
import { createHttpClient } from '../../src-main/engine/api/common/client.js'
import type { Contract } from '../../src-main/engine/contract.js'
import { createToken } from '../../src-main/team/accounts.js'
import { cliActor } from '../../src-main/team/init.js'
import { usePostgres } from '../helpers/postgres.js'
import { irisOnnx, penguinsJson } from '../helpers/synced-records.js'
import { PROJECT, startTeamInProcess, teammate } from '../helpers/team-sync.js'
import { launchBrowser, openApp, screenshot, startUi } from './harness.js'

const pg = usePostgres()

/** Nothing on the page scrolls sideways: the window and the content pane fit their width. */
async function expectNoSidewaysScroll(page: Page): Promise<void> {
  const widths = await page.evaluate(() => {
    const content = document.querySelector('.content')!
    return { doc: document.documentElement.scrollWidth, win: window.innerWidth, content: content.scrollWidth, box: content.clientWidth }
  })
  expect(widths.doc).toBeLessThanOrEqual(widths.win)
  expect(widths.content).toBeLessThanOrEqual(widths.box)
}

async function dismissToasts(page: Page): Promise<void> {
  const buttons = page.getByRole('button', { name: 'Dismiss' })
  while ((await buttons.count()) > 0) await buttons.first().click()
}

describe('the Team page', () => {
  it('connects, shows what is pending, syncs now (marks turn from pending to synced), decides a conflict, and shows an admin members, tokens and the audit trail', async () => {
    const team = await startTeamInProcess(pg.cluster())
    const ui = await startUi()
    const client = createHttpClient<Contract>({ baseUrl: ui.url, token: ui.token })
    // No background sync during the test: each sync here is one the test asks for.
    await client.call('sync.background.configure', { intervalS: 86_400 })
    for (let i = 0; i < 3; i++) await client.call('registry.versions.import', { file: irisOnnx, name: 'iris' })
    await client.call('registry.promote', { model: 'iris', version: 1, alias: 'production' })

    const browser = await launchBrowser()
    const page = await openApp(ui, browser, { viewport: { width: 1024, height: 700 } })
    const status = page.getByTestId('status-sync')
    await expect.poll(() => status.getAttribute('data-state')).toBe('disconnected')
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Team' }).click()
    await page.getByRole('heading', { level: 1, name: 'Team' }).waitFor()

    // A token the server never issued: the sentence is under the Token field, nothing is stored.
    await page.getByLabel('Server URL').fill(team.url())
    await page.getByLabel('Token').fill('lathe_not-a-token')
    await page.getByLabel('Project').fill(PROJECT)
    await page.getByRole('button', { name: 'Connect', exact: true }).click()
    const tokenField = page.locator('label.field', { has: page.getByLabel('Token') })
    await tokenField
      .getByRole('alert')
      .getByText(/does not accept this token.*Ask an admin for a new one/)
      .waitFor()
    // A URL nothing answers on: said under the URL.
    await page.getByLabel('Server URL').fill('http://127.0.0.1:9')
    await page.getByLabel('Token').fill(team.tokens.ana)
    await page.getByRole('button', { name: 'Connect', exact: true }).click()
    await page
      .locator('label.field', { has: page.getByLabel('Server URL') })
      .getByRole('alert')
      .getByText(/Cannot reach the team server at http:\/\/127\.0\.0\.1:9.*Check the URL/)
      .waitFor()
    expect((await client.call('sync.status', {})).connected).toBe(false)

    await page.getByLabel('Server URL').fill(team.url())
    await page.getByRole('button', { name: 'Connect', exact: true }).click()
    await page.getByRole('heading', { name: 'Team server' }).waitFor()
    const pending = await client.call('sync.status', {})
    expect(pending.pending).toBeGreaterThan(3)
    await expect.poll(() => page.getByTestId('team-pending').textContent()).toBe(String(pending.pending))
    const pendingTable = page.getByRole('table', { name: 'Pending operations' })
    await pendingTable.getByText('iris v3').waitFor()
    await pendingTable.getByText('iris:production -> v1').waitFor()
    await expect.poll(() => status.textContent()).toMatch(new RegExp(`${pending.pending} pending`))

    // The Models page marks iris and its versions pending.
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Models' }).click()
    const models = page.getByRole('table', { name: 'Models' })
    await models.locator('[data-sync-mark="pending"]').waitFor()
    await page.getByRole('table', { name: 'Versions' }).locator('[data-sync-mark="pending"]').first().waitFor()

    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Team' }).click()
    await page.getByRole('button', { name: 'Sync now' }).click()
    await page.getByRole('status', { name: 'Last sync' }).getByText('in agreement').waitFor({ timeout: 60_000 })
    await expect.poll(() => page.getByTestId('team-pending').textContent()).toBe('0')
    await page.getByText('Nothing to push').waitFor()
    await expect.poll(() => status.getAttribute('data-state')).toBe('idle')

    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Models' }).click()
    await models.locator('[data-sync-mark="synced"]').waitFor()
    expect(await models.locator('[data-sync-mark="pending"]').count()).toBe(0)
    expect(await page.getByRole('table', { name: 'Versions' }).locator('[data-sync-mark="synced"]').count()).toBe(3)

    // Bob (another workspace) pulls, moves production to v2 and syncs first; this workspace moved it to v3 meanwhile.
    const bob = await teammate(team, 'bob')
    await bob.call('sync.run', {})
    await bob.call('registry.promote', { model: 'iris', version: 2, alias: 'production' })
    await bob.call('data.import', { name: 'penguins', path: penguinsJson })
    expect((await bob.call('sync.run', {})).agreed).toBe(true)
    await client.call('registry.promote', { model: 'iris', version: 3, alias: 'production' })

    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Team' }).click()
    await page.getByRole('button', { name: 'Sync now' }).click()
    const conflict = page.getByRole('listitem', { name: 'conflict iris:production' })
    await conflict.getByText(/Your move of iris:production to v3 was not applied: bob moved it to v2/).waitFor({ timeout: 60_000 })
    await page.getByRole('status', { name: 'Last sync' }).getByText('not in agreement yet').waitFor()
    await expect.poll(() => status.getAttribute('data-state')).toBe('conflicts')
    await expectNoSidewaysScroll(page)
    await screenshot(page, 'team-conflict-1024')
    // The README's picture: the wide window, without the toasts.
    await page.setViewportSize({ width: 1440, height: 900 })
    await dismissToasts(page)
    await expectNoSidewaysScroll(page)
    await screenshot(page, 'team')
    await page.setViewportSize({ width: 1024, height: 700 })

    // Decide again: promote v3 against bob's v2; the gate runs again, the move goes out with the next sync.
    await conflict.getByRole('button', { name: 'Promote v3 again' }).click()
    await page.getByText(/iris:production moved to v3 against v2 \(the gate passed\)/).waitFor()
    await page.getByRole('heading', { name: 'Conflicts (0)' }).waitFor()
    await page.getByRole('button', { name: 'Sync now' }).click()
    await page.getByRole('status', { name: 'Last sync' }).getByText('in agreement').waitFor({ timeout: 60_000 })
    await bob.call('sync.run', {})
    expect((await bob.call('registry.models.show', { model: 'iris' })).model.aliases).toEqual([expect.objectContaining({ alias: 'production', version: 3 })])

    // What bob made came with the pull, and says so.
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Datasets' }).click()
    await page.getByRole('list', { name: 'Datasets' }).locator('[data-sync-mark="pulled"]').getByText('↓ from bob').waitFor()
    await page.locator('.facts [data-sync-mark="pulled"]').getByText('↓ from bob').waitFor()
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Team' }).click()

    // Ana is a maintainer: the admin parts are hidden with a sentence, her own tokens shown.
    await page
      .getByTestId('admin-hidden')
      .getByText(/for team admins\. You are ana, maintainer in weather/)
      .waitFor()
    expect(await page.getByRole('table', { name: 'Members' }).count()).toBe(0)

    // Reconnected as the server's admin: members, every token (create, revoke), the audit trail.
    await page.getByRole('button', { name: 'Disconnect' }).click()
    await page.getByRole('button', { name: 'Connect', exact: true }).waitFor()
    const { token: adminToken } = await createToken(team.db, cliActor(), 'admin', null)
    await page.getByLabel('Server URL').fill(team.url())
    await page.getByLabel('Token').fill(adminToken)
    await page.getByLabel('Project').fill(PROJECT)
    await page.getByRole('button', { name: 'Connect', exact: true }).click()
    const members = page.getByRole('table', { name: 'Members' })
    for (const name of ['admin', 'ana', 'bob', 'mo', 'vic']) await members.getByRole('cell', { name, exact: true }).waitFor()
    const tokens = page.getByRole('table', { name: 'Tokens' })
    await expect.poll(() => tokens.locator('tbody tr').count()).toBe(6)
    await page.getByLabel('Token user').fill('mo')
    await page.getByLabel('Token expires').fill('30d')
    await page.getByRole('button', { name: 'Create token' }).click()
    await expect.poll(() => page.getByTestId('new-token').textContent()).toMatch(/^lathe_/)
    await expect.poll(() => tokens.locator('tbody tr').count()).toBe(7)
    const made = (await client.call('sync.team.tokens.list', {})).find((t) => t.user === 'mo' && t.expiresAt !== null)!
    await tokens.getByRole('button', { name: `revoke token ${made.id.slice(0, 8)} of mo` }).click()
    await expect.poll(async () => (await client.call('sync.team.tokens.list', {})).find((t) => t.id === made.id)!.state).toBe('revoked')
    const audit = page.getByRole('table', { name: 'Audit trail' })
    await audit.getByText('token.revoke').first().waitFor()
    await audit.getByText('token.create').first().waitFor()

    await dismissToasts(page)
    await expectNoSidewaysScroll(page)
    await screenshot(page, 'team-admin-1024')
    await page.setViewportSize({ width: 1440, height: 900 })
    await expectNoSidewaysScroll(page)
    await screenshot(page, 'team-admin-1440')
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Models' }).click()
    await models.locator('[data-sync-mark]').first().waitFor()
    await expectNoSidewaysScroll(page)
    await screenshot(page, 'team-models-marks-1440')
  })
})
