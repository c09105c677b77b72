import { createHttpClient, type ApiClient } from '../../src-main/engine/api/common/client.js'
import type { Contract, EventPayloads } from '../../src-main/engine/contract.js'

/**
 * The renderer's only way to the engine: the typed client over the HTTP API. In the
 * desktop app the preload hands over the engine's URL and token; in a browser
 * (`lathe ui`) the page is served by the engine itself and the token comes in the
 * URL fragment, which never reaches a server log.
 */
export type Api = ApiClient<Contract, EventPayloads>
export type { Contract, EventPayloads }
export type Output<K extends keyof Contract> = Contract[K]['output']
export type Input<K extends keyof Contract> = Contract[K]['input']

function connection(): { baseUrl: string; token: string } {
  const bridge = (window as unknown as { lathe?: { engine: { url: string; token: string } } }).lathe
  if (bridge) return { baseUrl: bridge.engine.url, token: bridge.engine.token }
  const fromHash = new URLSearchParams(window.location.hash.slice(1)).get('token')
  if (fromHash) {
    sessionStorage.setItem('lathe.token', fromHash)
    history.replaceState(null, '', window.location.pathname + window.location.search)
  }
  return { baseUrl: window.location.origin, token: fromHash ?? sessionStorage.getItem('lathe.token') ?? '' }
}

export const api: Api = createHttpClient<Contract, EventPayloads>(connection())
