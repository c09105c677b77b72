import { Component, type ErrorInfo, type ReactNode } from 'react'
import { ErrorBanner } from './Toast.js'

/**
 * Keeps a page's rendering bug inside the page: the navigation and status bar stay
 * usable and the person sees what broke instead of a blank window. App wraps each
 * page in one, keyed by page, so moving to another page starts clean.
 */
export class ErrorBoundary extends Component<{ children: ReactNode }, { error: unknown }> {
  override state: { error: unknown } = { error: null }

  static getDerivedStateFromError(error: unknown) {
    return { error }
  }

  override componentDidCatch(error: unknown, info: ErrorInfo) {
    console.error('page crashed', error, info.componentStack)
  }

  override render() {
    if (this.state.error) return <ErrorBanner error={this.state.error} onRetry={() => this.setState({ error: null })} />
    return this.props.children
  }
}
