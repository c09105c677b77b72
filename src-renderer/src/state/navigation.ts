import { create } from 'zustand'

/**
 * Where the user is, kept in the URL hash so reload, back/forward, a second tab and a
 * bookmark all land on the same thing: `#/<page>/<part>/<part>...`, for example
 * `#/runs/<run id>`, `#/models/<name>/<version>`, `#/datasets/<name>/<version>`,
 * `#/monitoring/<model>/reports/<report id>`. Each part is URI-encoded.
 */
export interface Route {
  page: string
  /** What the page shows, from the hash after the page id. */
  path: string[]
}

export function parseHash(hash: string): Route {
  const [page = '', ...rest] = hash.replace(/^#\/?/, '').split('?')[0]!.split('/')
  return { page: safeDecode(page), path: rest.filter((p) => p !== '').map(safeDecode) }
}

export function hashOf(page: string, ...path: Array<string | number | null | undefined>): string {
  const parts = [page, ...path.filter((p): p is string | number => p !== null && p !== undefined && p !== '')]
  return `#/${parts.map((p) => encodeURIComponent(String(p))).join('/')}`
}

function safeDecode(part: string): string {
  try {
    return decodeURIComponent(part)
  } catch {
    return part
  }
}

interface NavigationState extends Route {
  /** Go to a page, or to one thing on it (`go('runs', runId)`); pushes a history entry. */
  go(page: string, ...path: Array<string | number | null | undefined>): void
  /** Change what the current page shows without a new history entry (a tab, a filter). */
  replace(...path: Array<string | number | null | undefined>): void
}

export const useNavigation = create<NavigationState>((set, get) => ({
  ...parseHash(window.location.hash),
  go(page, ...path) {
    const hash = hashOf(page, ...path)
    if (window.location.hash !== hash) window.location.hash = hash
    set(parseHash(hash))
  },
  replace(...path) {
    const hash = hashOf(get().page, ...path)
    history.replaceState(history.state, '', `${window.location.pathname}${window.location.search}${hash}`)
    set(parseHash(hash))
  },
}))

window.addEventListener('hashchange', () => useNavigation.setState(parseHash(window.location.hash)))

/** The current page's path parts (what it shows), for the page component. */
export function useRoutePath(): string[] {
  return useNavigation((s) => s.path)
}
