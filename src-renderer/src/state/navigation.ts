import { create } from 'zustand'

export const pages = ['datasets', 'runs', 'models', 'serving', 'monitoring', 'pipelines', 'settings'] as const
export type PageId = (typeof pages)[number]

function pageFromHash(): PageId {
  const id = window.location.hash.replace(/^#\/?/, '').split(/[/?]/)[0]
  return (pages as readonly string[]).includes(id ?? '') ? (id as PageId) : 'datasets'
}

interface NavigationState {
  page: PageId
  go(page: PageId): void
}

/** The current page, kept in the URL hash so reload and back/forward work. */
export const useNavigation = create<NavigationState>((set) => ({
  page: pageFromHash(),
  go(page) {
    window.location.hash = `/${page}`
    set({ page })
  },
}))

window.addEventListener('hashchange', () => useNavigation.setState({ page: pageFromHash() }))
