// The upload's layers, outermost first: policy -> quota -> location -> format -> the store session.

import { composeUpload } from './lifecycle.js'
import { policyLayer } from './policy.js'
import { quotaLayer } from './quota.js'
import { locationLayer } from './location.js'
import { formatLayer } from './format.js'
import { storeUpload } from './store-upload.js'

export const dispatchUpload = composeUpload([policyLayer, quotaLayer, locationLayer, formatLayer], storeUpload)
