import fsp from 'node:fs/promises'
import os from 'node:os'
import { randomUUID } from 'node:crypto'
import { createToken, hasAdmin } from './accounts.js'
import { appendAudit, type AuditActor } from './audit.js'
import { BlobStore } from './blobs.js'
import { inTransaction, type Db } from './db.js'
import { migrate } from './migrate.js'
import { allMigrations } from './modules.js'

/** Changes made from a terminal on the server's machine are audited as the OS user who ran them. */
export function cliActor(): AuditActor {
  let name = 'unknown'
  try {
    name = os.userInfo().username
  } catch {
    // No passwd entry (a container): keep "unknown".
  }
  return { userId: null, userName: `cli:${name}`, clientId: null, clientTime: null }
}

export interface InitResult {
  schema: { from: number; to: number; applied: string[] }
  objectsDir: string
  /** Set only on the first init: the first admin and their token, shown this once. */
  admin: { user: string; tokenId: string; token: string } | null
}

/**
 * Brings the database to the current schema and, the first time, creates the first
 * admin with a token printed once. There is no default password: without that token
 * (or a new one from `tokens create` on the server's machine) nobody gets in.
 */
export async function initTeamServer(db: Db, objectsDir: string, adminName = 'admin'): Promise<InitResult> {
  const schema = await migrate(db, allMigrations())
  await new BlobStore(objectsDir).prepare()
  const actor = cliActor()
  const admin = await inTransaction(db, async (tx) => {
    await tx.query('LOCK TABLE grants IN SHARE ROW EXCLUSIVE MODE')
    if (await hasAdmin(tx)) return null
    let user = (await tx.query<{ id: string }>('SELECT id FROM users WHERE name = $1', [adminName])).rows[0]
    if (!user) {
      user = { id: randomUUID() }
      await tx.query('INSERT INTO users (id, name) VALUES ($1, $2)', [user.id, adminName])
    }
    await tx.query(
      `INSERT INTO grants (user_id, project_id, role) VALUES ($1, NULL, 'admin') ON CONFLICT (user_id, project_id) DO UPDATE SET role = 'admin'`,
      [user.id],
    )
    await appendAudit(tx, { actor, action: 'server.init', outcome: 'accepted', target: adminName, detail: { role: 'admin' } })
    const { token, summary } = await createToken(db, actor, adminName, null, tx)
    return { user: adminName, tokenId: summary.id, token }
  })
  return { schema, objectsDir: await fsp.realpath(objectsDir), admin }
}
