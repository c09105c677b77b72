import { describe, expect, it, vi } from 'vitest'

vi.mock('electron', () => import('./fake-electron.js'))

const { FakeWebContents, session } = await import('./fake-electron.js')
const { contentSecurityPolicy, guardNavigation, installResponseHeaders, mainWindowOptions, refusePermissions } =
  await import('../../src-main/electron/window.js')

const appOrigin = 'http://127.0.0.1:41234'

function directives(policy: string): Map<string, string[]> {
  return new Map(
    policy
      .split(';')
      .map((d) => d.trim().split(/\s+/))
      .map(([name, ...values]) => [name!, values]),
  )
}

describe('the main window', () => {
  it('runs the page sandboxed, context-isolated and without Node', () => {
    const prefs = mainWindowOptions('/app/out/preload/index.cjs').webPreferences!
    expect(prefs).toMatchObject({
      preload: '/app/out/preload/index.cjs',
      sandbox: true,
      contextIsolation: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
    })
  })
})

describe('the Content-Security-Policy', () => {
  it('allows only the app itself and the engine on loopback', () => {
    const policy = directives(contentSecurityPolicy({ appOrigin, engineOrigin: appOrigin }))
    expect(policy.get('default-src')).toEqual(["'self'"])
    expect(policy.get('script-src')).toEqual(["'self'"])
    expect(policy.get('connect-src')).toEqual(["'self'", appOrigin])
    expect(policy.get('object-src')).toEqual(["'none'"])
    expect(policy.get('frame-ancestors')).toEqual(["'none'"])
    const sources = [...policy.values()].flat()
    expect(sources.filter((s) => /^(https?|wss?):/.test(s) && !s.startsWith('http://127.0.0.1:'))).toEqual([])
    expect(sources).not.toContain("'unsafe-eval'")
    expect(sources).not.toContain('*')
  })

  it('in dev adds only the Vite server hot-reload socket', () => {
    const policy = directives(contentSecurityPolicy({ appOrigin: 'http://localhost:5173', engineOrigin: appOrigin, dev: true }))
    expect(policy.get('connect-src')).toEqual(["'self'", appOrigin, 'ws://localhost:5173'])
    expect(policy.get('script-src')).toEqual(["'self'"])
  })

  it('is set as a response header on the app origin, replacing any the server sent', () => {
    installResponseHeaders(session.defaultSession as never, () => ({ appOrigin, engineOrigin: appOrigin }))
    const listener = session.defaultSession.headersListener!
    let answer: { responseHeaders?: Record<string, string | string[]>; statusLine?: string } = {}
    listener(
      { url: `${appOrigin}/index.html`, method: 'GET', responseHeaders: { 'content-security-policy': ['default-src *'], 'Content-Type': ['text/html'] } },
      (a) => (answer = a),
    )
    expect(answer.responseHeaders!['Content-Security-Policy']).toEqual([contentSecurityPolicy({ appOrigin, engineOrigin: appOrigin })])
    expect(answer.responseHeaders!['content-security-policy']).toBeUndefined()
    expect(answer.responseHeaders!['Content-Type']).toEqual(['text/html'])

    listener({ url: 'https://example.com/x.js', method: 'GET', responseHeaders: { a: ['b'] } }, (a) => (answer = a))
    expect(answer.responseHeaders).toEqual({ a: ['b'] })
    expect(answer.statusLine).toBeUndefined()
  })

  it('answers the engine CORS preflight for the Vite page in dev only', () => {
    const dev = { appOrigin: 'http://localhost:5173', engineOrigin: appOrigin, dev: true }
    installResponseHeaders(session.defaultSession as never, () => dev)
    let answer: { responseHeaders?: Record<string, string | string[]>; statusLine?: string } = {}
    session.defaultSession.headersListener!({ url: `${appOrigin}/api/v1/system.info`, method: 'OPTIONS', responseHeaders: {} }, (a) => (answer = a))
    expect(answer.statusLine).toBe('HTTP/1.1 204 No Content')
    expect(answer.responseHeaders!['Access-Control-Allow-Origin']).toEqual(['http://localhost:5173'])

    installResponseHeaders(session.defaultSession as never, () => ({ appOrigin, engineOrigin: appOrigin }))
    session.defaultSession.headersListener!({ url: `${appOrigin}/api/v1/system.info`, method: 'OPTIONS', responseHeaders: {} }, (a) => (answer = a))
    expect(answer.statusLine).toBeUndefined()
    expect(answer.responseHeaders!['Access-Control-Allow-Origin']).toBeUndefined()
  })
})

describe('the navigation guard', () => {
  it('keeps the window on the app origin', () => {
    const contents = new FakeWebContents()
    const blocked: string[] = []
    guardNavigation(
      contents as never,
      () => appOrigin,
      (url) => blocked.push(url),
    )

    expect(contents.navigate('will-navigate', `${appOrigin}/#/settings`)).toBe(true)
    expect(contents.navigate('will-navigate', 'https://example.com/')).toBe(false)
    expect(contents.navigate('will-redirect', 'http://127.0.0.1:9999/')).toBe(false)
    expect(contents.navigate('will-frame-navigate', 'file:///etc/passwd')).toBe(false)
    expect(contents.navigate('will-navigate', 'not a url')).toBe(false)
    expect(blocked).toEqual(['https://example.com/', 'http://127.0.0.1:9999/', 'file:///etc/passwd', 'not a url'])
  })

  it('opens no new windows, not even on the app origin, and attaches no webview', () => {
    const contents = new FakeWebContents()
    const blocked: string[] = []
    guardNavigation(
      contents as never,
      () => appOrigin,
      (url) => blocked.push(url),
    )
    expect(contents.windowOpenHandler!({ url: 'https://example.com/' })).toEqual({ action: 'deny' })
    expect(contents.windowOpenHandler!({ url: `${appOrigin}/` })).toEqual({ action: 'deny' })
    let prevented = false
    contents.emit('will-attach-webview', { preventDefault: () => (prevented = true) })
    expect(prevented).toBe(true)
    expect(blocked).toEqual(['https://example.com/', `${appOrigin}/`, '<webview>'])
  })
})

describe('web permissions', () => {
  it('grants only clipboard writes, and only to the app origin', () => {
    refusePermissions(session.defaultSession as never, () => appOrigin)
    const ask = (permission: string, url: string) => {
      let granted: boolean | null = null
      session.defaultSession.permissionRequest!(null, permission, (ok) => (granted = ok), { requestingUrl: url })
      return granted
    }
    expect(ask('clipboard-sanitized-write', `${appOrigin}/`)).toBe(true)
    expect(ask('clipboard-sanitized-write', 'https://example.com/')).toBe(false)
    expect(ask('media', `${appOrigin}/`)).toBe(false)
    expect(ask('notifications', `${appOrigin}/`)).toBe(false)
    expect(session.defaultSession.permissionCheck!(null, 'geolocation', appOrigin)).toBe(false)
    expect(session.defaultSession.permissionCheck!(null, 'clipboard-sanitized-write', appOrigin)).toBe(true)
  })
})
