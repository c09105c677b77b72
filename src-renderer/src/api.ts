import { createHttpClient, type ApiClient } from '../../src-main/engine/api/common/client.js'
import { LatheError, type LatheErrorBody } from '../../src-main/engine/api/common/errors.js'
import type { Contract } from '../../src-main/engine/contract.js'

/**
 * The renderer's only way to the engine: the typed client over the HTTP API. In the
 * desktop app the preload hands over the engine's URL and token. In a browser
 * (`lathe ui`) the page is served by the engine itself and the URL it prints carries
 * the token in the fragment (which never reaches a server log); the page trades it
 * once for an HttpOnly, SameSite=Strict cookie and drops it from the address bar, so
 * every later tab, reload and bookmark of that engine is signed in by the cookie.
 */
export type Api = ApiClient<Contract>
export type { Contract }
export type Output<K extends keyof Contract> = Contract[K]['output']
export type Input<K extends keyof Contract> = Contract[K]['input']

/** The token in `#token=T` or `#/runs/ID?token=T`, removed from the address bar. */
export function takeTokenFromHash(): string | null {
  const hash = window.location.hash.slice(1)
  const query = hash.startsWith('/') ? (hash.split('?')[1] ?? '') : hash
  const token = new URLSearchParams(query).get('token')
  if (!token) return null
  const route = hash.startsWith('/') ? `#${hash.split('?')[0]}` : ''
  history.replaceState(null, '', window.location.pathname + window.location.search + route)
  return token
}

const bridge = (window as unknown as { lathe?: { engine: { url: string; token: string } } }).lathe
let session: Promise<void> = Promise.resolve()

function connect(): Api {
  if (bridge) return createHttpClient<Contract>({ baseUrl: bridge.engine.url, token: bridge.engine.token })
  const token = takeTokenFromHash()
  const base = window.location.origin
  session = token
    ? fetch(`${base}/api/v1/session`, { method: 'POST', headers: { authorization: `Bearer ${token}` } }).then(
        () => undefined,
        () => undefined,
      )
    : Promise.resolve()
  // Every request waits for the cookie to be set; after that, the cookie is the credential.
  const sessionFetch: typeof fetch = async (input, init) => {
    await session
    return fetch(input, { ...init, credentials: 'same-origin' })
  }
  return createHttpClient<Contract>({ baseUrl: base, fetch: sessionFetch })
}

export const api: Api = connect()

/**
 * Streams a file to the engine (`POST /api/v1/uploads`) and reports the bytes sent;
 * resolves to the upload id an operation takes. XMLHttpRequest, because fetch
 * cannot report upload progress.
 */
export async function uploadFile(file: File, onProgress: (fraction: number) => void): Promise<string> {
  await session
  const base = bridge ? bridge.engine.url : window.location.origin
  return new Promise((resolve, reject) => {
    const request = new XMLHttpRequest()
    request.open('POST', `${base}/api/v1/uploads?fileName=${encodeURIComponent(file.name)}`)
    if (bridge) request.setRequestHeader('authorization', `Bearer ${bridge.engine.token}`)
    request.setRequestHeader('content-type', 'application/octet-stream')
    request.upload.onprogress = (event) => event.lengthComputable && onProgress(event.loaded / event.total)
    request.onerror = () => reject(new LatheError('unavailable', `cannot reach the Lathe engine to upload ${file.name}`))
    request.onload = () => {
      const body = (() => {
        try {
          return JSON.parse(request.responseText) as { upload?: string; error?: LatheErrorBody }
        } catch {
          return {}
        }
      })()
      if (request.status === 200 && body.upload) resolve(body.upload)
      else reject(body.error?.code ? LatheError.fromBody(body.error) : new Error(`upload failed: HTTP ${request.status}`))
    }
    request.send(file)
  })
}

/**
 * Saves a file an operation prepared (`data.export { download: true }`). In a browser the
 * session cookie lets a plain link stream it to disk; the desktop app's token goes in a
 * header, so there the bytes come through fetch.
 */
export async function downloadFile(download: string, fileName: string): Promise<void> {
  await session
  const base = bridge ? bridge.engine.url : window.location.origin
  const url = `${base}/api/v1/downloads/${encodeURIComponent(download)}?name=${encodeURIComponent(fileName)}`
  let href = url
  if (bridge) {
    const response = await fetch(url, { headers: { authorization: `Bearer ${bridge.engine.token}` } })
    if (!response.ok) {
      const body = (await response.json().catch(() => ({}))) as { error?: LatheErrorBody }
      throw body.error?.code ? LatheError.fromBody(body.error) : new Error(`download failed: HTTP ${response.status}`)
    }
    href = URL.createObjectURL(await response.blob())
    setTimeout(() => URL.revokeObjectURL(href), 10_000)
  }
  const link = document.createElement('a')
  link.href = href
  link.download = fileName
  link.click()
}
