// The upload's layers, outermost first: policy -> quota -> location -> the store session.

import { composeUpload } from './lifecycle.js'
import { policyLayer } from './policy.js'
import { quotaLayer } from './quota.js'
import { locationLayer } from './location.js'
import { storeUpload } from './store-upload.js'

export const dispatchUpload = composeUpload([policyLayer, quotaLayer, locationLayer], storeUpload)
