import type { ChildProcess } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { chromium, type Browser, type Page } from 'playwright-core'
import { startLathe } from '../cli/run-lathe.js'
import { needChromium } from '../helpers/needs.js'
import { afterThisTest, tempDir } from '../helpers/workspace.js'

const root = path.resolve(import.meta.dirname, '..', '..')
export const screenshotDir = path.join(root, 'test-results', 'screenshots')

export interface RunningUi {
  url: string
  token: string
  /** The URL a person opens: the page with its token in the fragment. */
  ui: string
  workspace: string
  process: ChildProcess
}

/** Starts `lathe ui` as a user would, on a fresh workspace and a free port; stopped after the test. */
export async function startUi(workspace = tempDir('lathe-e2e-')): Promise<RunningUi> {
  const { child, first } = await startLathe(['ui', '--port', '0', '--json', '--workspace', workspace], { stop: 'SIGTERM' })
  const info = first as { url: string; token: string; ui: string }
  return { ...info, workspace, process: child }
}

/** Debian's Chromium, headless, with the flags this closed network needs. */
export async function launchBrowser(): Promise<Browser> {
  const browser = await chromium.launch({
    executablePath: needChromium(),
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  })
  afterThisTest(() => browser.close())
  return browser
}

export interface OpenOptions {
  /** Defaults to the URL `lathe ui` printed (with its token). */
  url?: string
  viewport?: { width: number; height: number }
}

/**
 * Opens a page of the app. Any uncaught error in the page fails the test (checked
 * after the test, so it is reported even when the test's own assertions pass).
 */
export async function openApp(ui: RunningUi, browser?: Browser, options: OpenOptions = {}): Promise<Page> {
  const b = browser ?? (await launchBrowser())
  const page = await b.newPage({ viewport: options.viewport ?? { width: 1280, height: 800 } })
  watchPageErrors(page)
  await page.goto(options.url ?? ui.ui)
  return page
}

/** Fails the current test, after it ends, if the page threw an uncaught error. */
export function watchPageErrors(page: Page): void {
  const errors: string[] = []
  page.on('pageerror', (error) => errors.push(`${error.message}\n${error.stack ?? ''}`))
  afterThisTest(() => {
    if (errors.length) throw new Error(`uncaught error in the page (${errors.length}):\n${errors.join('\n---\n')}`)
  })
}

export async function screenshot(page: Page, name: string): Promise<string> {
  fs.mkdirSync(screenshotDir, { recursive: true })
  const file = path.join(screenshotDir, `${name}.png`)
  await page.screenshot({ path: file, fullPage: true })
  return file
}
