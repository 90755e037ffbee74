// Every route Glint serves, by concern.

import type { AppContext } from '../../context.js'
import type { Routes } from '../router.js'
import { versionRoutes } from './versions.js'
import { schemaRoutes } from './schemas.js'
import { imageRoutes } from './images.js'
import { imageDataRoutes } from './image-data.js'
import { storeRoutes } from './stores.js'
import { memberRoutes } from './members.js'
import { tagRoutes } from './tags.js'
import { actionRoutes } from './actions.js'
import { importRoutes } from './import.js'
import { taskRoutes } from './tasks.js'
import { cacheRoutes } from './cache.js'
import { metadefSchemaRoutes } from './metadefs-schemas.js'
import { metadefNamespaceRoutes } from './metadefs-namespaces.js'
import { metadefObjectRoutes } from './metadefs-objects.js'
import { metadefPropertyRoutes } from './metadefs-properties.js'
import { metadefTagRoutes } from './metadefs-tags.js'
import { metadefResourceTypeRoutes } from './metadefs-resource-types.js'

export const routes: Routes<AppContext> = {
  ...versionRoutes,
  ...schemaRoutes,
  ...imageRoutes,
  ...imageDataRoutes,
  ...storeRoutes,
  ...memberRoutes,
  ...tagRoutes,
  ...actionRoutes,
  ...importRoutes,
  ...taskRoutes,
  ...cacheRoutes,
  ...metadefSchemaRoutes,
  ...metadefNamespaceRoutes,
  ...metadefObjectRoutes,
  ...metadefPropertyRoutes,
  ...metadefTagRoutes,
  ...metadefResourceTypeRoutes
}
