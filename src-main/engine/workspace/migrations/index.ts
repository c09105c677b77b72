import { migration001 } from './001-core.js'
import { migration002 } from './002-data.js'
import { migration003 } from './003-training.js'
import { migration004 } from './004-registry.js'
import { migration005 } from './005-monitoring.js'
import { migration006 } from './006-serving.js'
import { migration008 } from './008-identity.js'
import { migration009 } from './009-sync.js'
import { migration010 } from './010-mlflow.js'
import { migration011 } from './011-pipelines.js'
import { migration012 } from './012-sync-decisions.js'
import { migration013 } from './013-data-archive.js'
import { migration014 } from './014-removal.js'
import type { Migration } from './types.js'

/** Every migration, in order. Append new ones; never edit or reorder released ones. */
export const migrations: readonly Migration[] = [
  migration001,
  migration002,
  migration003,
  migration004,
  migration005,
  migration006,
  migration008,
  migration009,
  migration010,
  migration011,
  migration012,
  migration013,
  migration014,
]
