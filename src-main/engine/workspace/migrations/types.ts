import type Database from 'better-sqlite3'

/** A numbered schema change. Released migrations are never edited: add a new one. */
export interface Migration {
  version: number
  name: string
  up: (db: Database.Database) => void
}
