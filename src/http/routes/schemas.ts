// GET /v2/schemas/*: the documents glanceclient validates against (src/domain/schemas.ts).

import type { AppContext } from '../../context.js'
import type { Routes } from '../router.js'
import { IMAGE_SCHEMA, IMAGES_SCHEMA, MEMBER_SCHEMA, MEMBERS_SCHEMA } from '../../domain/schemas.js'
import { TASK_SCHEMA, TASKS_SCHEMA } from '../../domain/task-schema.js'

const serve = (doc: unknown) => ({ GET: { handle: (ex: any) => ex.json(200, doc) } })

export const schemaRoutes: Routes<AppContext> = {
  '/v2/schemas/image': serve(IMAGE_SCHEMA),
  '/v2/schemas/images': serve(IMAGES_SCHEMA),
  '/v2/schemas/member': serve(MEMBER_SCHEMA),
  '/v2/schemas/members': serve(MEMBERS_SCHEMA),
  '/v2/schemas/task': serve(TASK_SCHEMA),
  '/v2/schemas/tasks': serve(TASKS_SCHEMA)
}
