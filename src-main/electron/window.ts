import type { BrowserWindowConstructorOptions, Session, WebContents } from 'electron'

/**
 * The window's security settings, kept apart from main so each is unit-tested
 * with `electron` replaced. The app's own origin is where the renderer comes from:
 * the engine host's loopback origin in the packaged app and `npm start`, the Vite
 * dev server in `npm run dev`. Nothing else may be loaded, navigated to or opened.
 */

export function mainWindowOptions(preloadPath: string): BrowserWindowConstructorOptions {
  return {
    width: 1280,
    height: 820,
    minWidth: 900,
    minHeight: 600,
    title: 'Lathe',
    show: false,
    autoHideMenuBar: true,
    webPreferences: {
      preload: preloadPath,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      spellcheck: false,
    },
  }
}

export interface PolicyOrigins {
  /** Where the page comes from. */
  appOrigin: string
  /** The engine API's origin: the same as appOrigin except in dev. */
  engineOrigin: string
  /** Dev only: Vite's hot-reload socket. */
  dev?: boolean
}

/**
 * No remote origin anywhere: scripts, styles, fonts and images come from the app
 * itself, and the only network peer is the engine on loopback. `'unsafe-inline'`
 * for styles because recharts and React set style attributes.
 */
export function contentSecurityPolicy(origins: PolicyOrigins): string {
  const connect = new Set(["'self'", origins.engineOrigin])
  if (origins.dev) connect.add(`ws://${new URL(origins.appOrigin).host}`)
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self'",
    `connect-src ${[...connect].join(' ')}`,
    "worker-src 'self' blob:",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-src 'none'",
    "frame-ancestors 'none'",
  ].join('; ')
}

export function originOf(url: string): string | null {
  try {
    const origin = new URL(url).origin
    return origin === 'null' ? null : origin
  } catch {
    return null
  }
}

export function isAppUrl(url: string, appOrigin: string): boolean {
  return originOf(url) === appOrigin
}

/** Refuses navigation, redirects, new windows and webviews that leave the app's origin. */
export function guardNavigation(contents: WebContents, appOrigin: () => string, onBlocked: (url: string) => void): void {
  const refuseForeign = (event: { url: string; preventDefault(): void }) => {
    if (isAppUrl(event.url, appOrigin())) return
    event.preventDefault()
    onBlocked(event.url)
  }
  contents.on('will-navigate', refuseForeign)
  contents.on('will-redirect', refuseForeign)
  // Frames too: an iframe cannot be pointed at a remote page either.
  contents.on('will-frame-navigate', refuseForeign)
  contents.on('will-attach-webview', (event) => {
    event.preventDefault()
    onBlocked('<webview>')
  })
  contents.setWindowOpenHandler(({ url }) => {
    onBlocked(url)
    return { action: 'deny' }
  })
}

/**
 * Puts the CSP on every response from the app's origin (the meta tag in index.html
 * says the same; a header also covers responses the tag cannot, and cannot be
 * removed by the page). In dev only, also answers the CORS preflight the Vite-served
 * page needs to reach the engine on another port: Electron allows one
 * onHeadersReceived listener per session, so both live here.
 */
export function installResponseHeaders(session: Session, origins: () => PolicyOrigins): void {
  session.webRequest.onHeadersReceived((details, callback) => {
    const current = origins()
    const origin = originOf(details.url)
    const headers: Record<string, string | string[]> = { ...(details.responseHeaders ?? {}) }
    if (origin === current.appOrigin) {
      for (const name of Object.keys(headers)) {
        if (name.toLowerCase() === 'content-security-policy') delete headers[name]
      }
      headers['Content-Security-Policy'] = [contentSecurityPolicy(current)]
    }
    if (current.dev && origin === current.engineOrigin && current.engineOrigin !== current.appOrigin) {
      headers['Access-Control-Allow-Origin'] = [current.appOrigin]
      headers['Access-Control-Allow-Headers'] = ['authorization, content-type']
      headers['Access-Control-Allow-Methods'] = ['GET, POST']
      if (details.method === 'OPTIONS') return callback({ responseHeaders: headers, statusLine: 'HTTP/1.1 204 No Content' })
    }
    callback({ responseHeaders: headers })
  })
}

/** Copying to the clipboard is the one web permission the app uses; camera, location, web notifications... are refused. */
export const allowedPermissions: ReadonlySet<string> = new Set(['clipboard-sanitized-write'])

export function refusePermissions(session: Session, appOrigin: () => string): void {
  session.setPermissionRequestHandler((_contents, permission, callback, details) => {
    callback(allowedPermissions.has(permission) && isAppUrl(details.requestingUrl, appOrigin()))
  })
  session.setPermissionCheckHandler((_contents, permission, requestingOrigin) => {
    return allowedPermissions.has(permission) && originOf(requestingOrigin) === appOrigin()
  })
}
