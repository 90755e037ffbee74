// GET /v2/schemas/metadefs/*: the ten metadefs schema documents (src/domain/metadef-schemas.ts).

import type { AppContext } from '../../context.js'
import type { Routes } from '../router.js'
import { METADEF_SCHEMAS } from '../../domain/metadef-schemas.js'

export const metadefSchemaRoutes: Routes<AppContext> = Object.fromEntries(
  Object.entries(METADEF_SCHEMAS).map(([name, doc]) => [`/v2/schemas/metadefs/${name}`, { GET: { handle: (ex) => ex.json(200, doc) } }])
)
