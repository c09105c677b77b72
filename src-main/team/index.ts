export {
  ROLES,
  addProject,
  addUser,
  atLeast,
  checkToken,
  createToken,
  grantRole,
  listProjects,
  listTokens,
  listUsers,
  parseDuration,
  parseRole,
  revokeToken,
  roleIn,
  tokenSha256,
} from './accounts.js'
export type { Principal, Project, Role, TokenSummary, UserSummary } from './accounts.js'
export { appendAudit, listAudit, recordAudit, verifyAudit } from './audit.js'
export type { AuditActor, AuditEntry, AuditOutcome, AuditRow, AuditVerification } from './audit.js'
export { BlobStore, SHA256_HEX } from './blobs.js'
export type { TeamContext, TeamModule } from './context.js'
export { inTransaction, openDb, redact } from './db.js'
export type { Db, Tx } from './db.js'
export { cliActor, initTeamServer } from './init.js'
export { migrate, requireCurrentSchema, schemaState } from './migrate.js'
export type { TeamMigration } from './migrate.js'
export { allMigrations, teamModules } from './modules.js'
export { createTeamServer, isLoopback } from './server.js'
export type { TeamServerOptions } from './server.js'
export { CHUNK_BYTES, TeamBlobClient } from './client.js'
export type { UploadReport } from './client.js'
