/**
 * The shared UI pieces every page uses, so the pages look and behave alike:
 *   Card, Facts           titled panel; label/value list
 *   DataTable, Column     the one table: sortable, keyboard-navigable, virtualized past 200 rows,
 *                         local rows or engine-paged (`remote`), optional row numbers
 *   EmptyState            "nothing here yet, and what to do"
 *   ErrorBoundary         a page's render error shown in the page (App wraps every page)
 *   ErrorBanner           inline LatheError message (+ field/line), optional Retry
 *   ToastHost, notify, notifyError   app-wide toasts (ToastHost is mounted by App)
 *   ProgressBar           0..1 or indeterminate
 *   useOperation          call an operation; fresh by the events freshness.ts names for it
 *   useAction             busy + error state of something a person does (save, promote)
 *   useEngineEvents       listen to event topics (live curves, not freshness)
 *   formatNumber, formatTime   numbers at a sensible precision; short local times
 * CSS classes for plain controls: `btn`, `btn btn-primary`, `btn btn-ghost`, `field`
 * (label + input), `toolbar` (a row of controls), `badge`, `badge badge-ok|warn|bad`.
 */
export { Card, Facts } from './Card.js'
export { DataTable, formatCell, type Column, type DataTableProps, type RemoteRows, type Sort } from './DataTable.js'
export { EmptyState } from './EmptyState.js'
export { ErrorBoundary } from './ErrorBoundary.js'
export { describeError } from './errors.js'
export { ProgressBar } from './ProgressBar.js'
export { ErrorBanner, ToastHost } from './Toast.js'
export { notify, notifyError, useToasts, type Toast, type ToastKind } from './toasts.js'
export { useEngineEvents, useOperation, type OperationState } from './useOperation.js'
export { useAction, type ActionState } from './useAction.js'
export { formatNumber, formatTime } from './format.js'
export { freshnessOf, type Freshness } from './freshness.js'
export { FieldError, formErrors, sentence, type FormErrors } from './fieldErrors.js'
