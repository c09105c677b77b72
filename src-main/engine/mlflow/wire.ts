import { isLatheError, type LatheErrorCode } from '../api/common/errors.js'

/**
 * MLflow's wire conventions in one place: its error codes and their HTTP statuses,
 * how request fields arrive (query string on GET, JSON elsewhere, int64 as number or
 * string), and doubles with NaN and the infinities spelled as strings.
 */
export type MlflowErrorCode =
  | 'RESOURCE_DOES_NOT_EXIST'
  | 'RESOURCE_ALREADY_EXISTS'
  | 'INVALID_PARAMETER_VALUE'
  | 'BAD_REQUEST'
  | 'ENDPOINT_NOT_FOUND'
  | 'UNAUTHENTICATED'
  | 'PERMISSION_DENIED'
  | 'NOT_IMPLEMENTED'
  | 'INTERNAL_ERROR'

const statusOf: Record<MlflowErrorCode, number> = {
  RESOURCE_DOES_NOT_EXIST: 404,
  RESOURCE_ALREADY_EXISTS: 400,
  INVALID_PARAMETER_VALUE: 400,
  BAD_REQUEST: 400,
  ENDPOINT_NOT_FOUND: 404,
  UNAUTHENTICATED: 401,
  PERMISSION_DENIED: 403,
  NOT_IMPLEMENTED: 501,
  INTERNAL_ERROR: 500,
}

export class MlflowError extends Error {
  constructor(
    readonly code: MlflowErrorCode,
    message: string,
  ) {
    super(message)
    this.name = 'MlflowError'
  }

  get status(): number {
    return statusOf[this.code]
  }

  toBody(): { error_code: MlflowErrorCode; message: string } {
    return { error_code: this.code, message: this.message }
  }
}

const fromLathe: Record<LatheErrorCode, MlflowErrorCode> = {
  bad_request: 'INVALID_PARAMETER_VALUE',
  not_found: 'RESOURCE_DOES_NOT_EXIST',
  // A refused gate or a taken name is the caller's to fix: 400, never a code the client retries.
  conflict: 'INVALID_PARAMETER_VALUE',
  unauthorized: 'UNAUTHENTICATED',
  forbidden: 'PERMISSION_DENIED',
  too_large: 'INVALID_PARAMETER_VALUE',
  in_use: 'INVALID_PARAMETER_VALUE',
  unavailable: 'INTERNAL_ERROR',
}

/** A thrown error as MLflow's client reads it; null for a real fault (the caller logs it and answers 500). */
export function asMlflowError(error: unknown): MlflowError | null {
  if (error instanceof MlflowError) return error
  if (isLatheError(error)) return new MlflowError(fromLathe[error.code], error.message)
  const status = (error as { statusCode?: number } | null)?.statusCode
  // fastify's own 4xx (malformed JSON, a bad content type): the request's fault.
  if (typeof status === 'number' && status >= 400 && status < 500) return new MlflowError('BAD_REQUEST', (error as Error).message)
  return null
}

export const invalid = (message: string) => new MlflowError('INVALID_PARAMETER_VALUE', message)
export const missing = (message: string) => new MlflowError('RESOURCE_DOES_NOT_EXIST', message)

/** A request message: the query string of a GET (values may repeat) or a JSON body. */
export type Message = Record<string, unknown>

export function optString(m: Message, key: string): string | undefined {
  let v = m[key]
  if (Array.isArray(v)) v = v[0]
  if (v === undefined || v === null) return undefined
  if (typeof v === 'string') return v
  if (typeof v === 'number' || typeof v === 'boolean') return String(v)
  throw invalid(`Invalid value ${JSON.stringify(v)} for parameter '${key}' supplied: it must be a string`)
}

export function reqString(m: Message, key: string): string {
  const v = optString(m, key)
  if (v === undefined || v === '')
    throw invalid(`Missing value for required parameter '${key}'. See the API docs for more information about request parameters.`)
  return v
}

/** The run id, from `run_id` or the older `run_uuid` (the Python client sends both). */
export function runIdOf(m: Message): string {
  const id = optString(m, 'run_id') || optString(m, 'run_uuid')
  if (!id) throw invalid("Missing value for required parameter 'run_id'. See the API docs for more information about request parameters.")
  return id
}

/** int64: a JSON number, or a string of digits (protobuf JSON allows both). */
export function optInt(m: Message, key: string): number | undefined {
  let v = m[key]
  if (Array.isArray(v)) v = v[0]
  if (v === undefined || v === null || v === '') return undefined
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^-?\d+$/.test(v.trim()) ? Number(v) : NaN
  if (!Number.isSafeInteger(n)) throw invalid(`Invalid value ${JSON.stringify(v)} for parameter '${key}' supplied: it must be an integer`)
  return n
}

export function reqInt(m: Message, key: string): number {
  const v = optInt(m, key)
  if (v === undefined) throw invalid(`Missing value for required parameter '${key}'. See the API docs for more information about request parameters.`)
  return v
}

export function optBool(m: Message, key: string): boolean | undefined {
  let v = m[key]
  if (Array.isArray(v)) v = v[0]
  if (v === undefined || v === null || v === '') return undefined
  if (typeof v === 'boolean') return v
  if (v === 'true' || v === 'True') return true
  if (v === 'false' || v === 'False') return false
  throw invalid(`Invalid value ${JSON.stringify(v)} for parameter '${key}' supplied: it must be true or false`)
}

/** A repeated field: a JSON array, or repeated query keys. */
export function optList(m: Message, key: string): unknown[] {
  const v = m[key]
  if (v === undefined || v === null) return []
  return Array.isArray(v) ? v : [v]
}

export function optStringList(m: Message, key: string): string[] {
  return optList(m, key).map((v, i) => {
    if (typeof v === 'string' || typeof v === 'number') return String(v)
    throw invalid(`Invalid value ${JSON.stringify(v)} for parameter '${key}[${i}]' supplied: it must be a string`)
  })
}

export interface KeyValue {
  key: string
  value: string
}

export const tagsToList = (tags: Record<string, string>): KeyValue[] => Object.entries(tags).map(([key, value]) => ({ key, value }))

/** A message as MessageToJson writes it: unset fields (absent, empty strings, empty lists) left out. */
export const nonEmpty = <T extends object>(o: T): Partial<T> =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined && v !== null && v !== '' && !(Array.isArray(v) && v.length === 0))) as Partial<T>

/** `[{key, value}]` as tags and params arrive. */
export function keyValues(m: Message, field: string): KeyValue[] {
  return optList(m, field).map((item, i) => {
    if (!item || typeof item !== 'object') throw invalid(`Invalid value for parameter '${field}[${i}]': expected {"key", "value"}`)
    const kv = item as Message
    return { key: reqString(kv, 'key'), value: optString(kv, 'value') ?? '' }
  })
}

export type Special = '' | 'NaN' | 'Infinity' | '-Infinity'

/** A double as protobuf JSON writes it: a number, or "NaN", "Infinity", "-Infinity" (also as strings of numbers). */
export function parseDouble(v: unknown, field: string): { value: number; special: Special } {
  if (typeof v === 'number' && Number.isFinite(v)) return { value: v, special: '' }
  if (typeof v === 'string') {
    const t = v.trim()
    if (t === 'NaN' || t === 'nan') return { value: 0, special: 'NaN' }
    if (t === 'Infinity' || t === 'inf') return { value: Number.MAX_VALUE, special: 'Infinity' }
    if (t === '-Infinity' || t === '-inf') return { value: -Number.MAX_VALUE, special: '-Infinity' }
    const n = Number(t)
    if (t !== '' && Number.isFinite(n)) return { value: n, special: '' }
  }
  if (v === undefined || v === null) {
    throw invalid(`Missing value for required parameter '${field}'. See the API docs for more information about request parameters.`)
  }
  throw invalid(`Invalid value ${JSON.stringify(v)} for parameter '${field}' supplied: it must be a number, "NaN", "Infinity" or "-Infinity"`)
}

/** The value to send back: a number, or the string the client parses as NaN or an infinity. */
export function encodeDouble(value: number, special: Special): number | string {
  return special === '' ? value : special
}

/** Page tokens are offsets, opaque to the client. */
export function pageOffset(token: string | undefined): number {
  if (!token) return 0
  const n = Number(Buffer.from(token, 'base64url').toString('utf8'))
  if (!Number.isSafeInteger(n) || n < 0) throw invalid(`Invalid page_token ${JSON.stringify(token)}`)
  return n
}

export function pageToken(offset: number): string {
  return Buffer.from(String(offset), 'utf8').toString('base64url')
}

/** MLflow's key rule (`validation.py`): letters, digits, `_ - . / space :`, no path tricks, at most 250 characters. */
export function checkKey(key: string, what: string): string {
  if (key.length > 250) throw invalid(`${what} '${key.slice(0, 40)}...' had length ${key.length}, which exceeded length limit of 250`)
  if (!/^[/\w.\- :]*$/.test(key)) {
    throw invalid(
      `Invalid ${what.toLowerCase()} name: '${key}'. Names may only contain alphanumerics, underscores (_), dashes (-), periods (.), spaces ( ), colons(:) and slashes (/).`,
    )
  }
  const parts = key.split('/')
  if (key.startsWith('/') || parts.includes('..') || parts.includes('.')) {
    throw invalid(`Invalid ${what.toLowerCase()} name: '${key}'. Names cannot refer to a parent or the current directory, nor start with a slash.`)
  }
  return key
}

export function checkLength(value: string, limit: number, what: string): string {
  if (value.length > limit) throw invalid(`${what} had length ${value.length}, which exceeded length limit of ${limit}`)
  return value
}
