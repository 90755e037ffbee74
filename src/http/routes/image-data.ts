// Image data routes: upload (src/http/upload.ts) and download (src/http/download.ts).

import type { AppContext } from '../../context.js'
import type { Routes } from '../router.js'
import { receiveUpload } from '../upload.js'
import { sendImageData } from '../download.js'

export const imageDataRoutes: Routes<AppContext> = {
  '/v2/images/:id/file': {
    GET: { handle: sendImageData },
    PUT: { body: 'stream', handle: receiveUpload }
  }
}
