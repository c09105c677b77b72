import type { TeamMigration } from './migrate.js'
import type { TeamModule } from './context.js'
import { adminModule } from './routes/admin.js'
import { blobsModule } from './routes/blobs.js'

/** Every part of the team server, in registration order. Sync adds its module here. */
export const teamModules: TeamModule[] = [blobsModule, adminModule]

export function allMigrations(modules: TeamModule[] = teamModules): TeamMigration[] {
  return modules.flatMap((m) => m.migrations)
}
