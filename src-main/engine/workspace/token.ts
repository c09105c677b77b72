import { randomBytes } from 'node:crypto'
import type Database from 'better-sqlite3'

/**
 * The engine API's bearer token, kept in `lathe.db` so it survives restarts: a
 * script's MLFLOW_TRACKING_TOKEN keeps working after the app or `lathe ui` is
 * started again. `rotateApiToken` replaces it (`lathe token --rotate`); the API
 * server reads it per request from the cache here, so a rotation applies at once.
 */
const KEY = 'api.token'
const cache = new WeakMap<Database.Database, string>()

export function persistentApiToken(db: Database.Database): string {
  const cached = cache.get(db)
  if (cached) return cached
  const token = db
    .transaction(() => {
      const row = db.prepare('SELECT value FROM settings WHERE key = ?').get(KEY) as { value: string } | undefined
      if (row) return row.value
      const token = randomBytes(24).toString('base64url')
      db.prepare('INSERT INTO settings (key, value) VALUES (?, ?)').run(KEY, token)
      return token
    })
    .immediate()
  cache.set(db, token)
  return token
}

export function rotateApiToken(db: Database.Database): string {
  const token = randomBytes(24).toString('base64url')
  db.prepare('INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value').run(KEY, token)
  cache.set(db, token)
  return token
}

/**
 * The port the engine API last listened on when none was asked for (the desktop app),
 * so MLFLOW_TRACKING_URI stays the same across restarts while that port is free.
 */
export function rememberedApiPort(db: Database.Database): number | null {
  const row = db.prepare("SELECT value FROM settings WHERE key = 'api.port'").get() as { value: string } | undefined
  const port = Number(row?.value)
  return Number.isInteger(port) && port > 0 && port < 65536 ? port : null
}

export function rememberApiPort(db: Database.Database, port: number): void {
  db.prepare("INSERT INTO settings (key, value) VALUES ('api.port', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value").run(String(port))
}
