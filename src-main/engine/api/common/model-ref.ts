import { LatheError } from './errors.js'

/** A model and, when given, the alias or version number after its `@`. */
export interface ModelRef {
  model: string
  /** `production`, `staging`, any alias, or a version number as written (`2`). */
  selector?: string
}

/**
 * `M`, `M@alias` or `M@V`: how every command and page names a model. The model is what
 * comes before the last `@`, so a model name may itself hold one. Pure module: the CLI,
 * the engine and the renderer read references the same way.
 */
export function parseModelRef(ref: string): ModelRef {
  const at = ref.lastIndexOf('@')
  const model = at < 0 ? ref : ref.slice(0, at)
  const selector = at < 0 ? undefined : ref.slice(at + 1)
  if (!model.trim() || selector === '' || selector?.trim() === '') {
    throw new LatheError('bad_request', `"${ref}" is not M, M@alias or M@version (for example weather, weather@production, weather@2)`, {
      field: 'model',
    })
  }
  return selector === undefined ? { model } : { model, selector }
}
