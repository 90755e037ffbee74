'use strict'
// copyInto(target, targetOffset, source, sourceOffset, length): the upload path's copy of an
// HTTP body chunk into a shared upload buffer, as a plain memcpy (src/copy.cc says why).
// When the addon is not built (GLINT_SKIP_RBD_BUILD, no compiler) it falls back to
// TypedArray.prototype.set: the same bytes, at V8's speed for shared memory.

const path = require('node:path')

let native
try {
  native = require(path.join(__dirname, 'build', 'Release', 'copy_native.node'))
} catch {
  native = undefined
}

exports.native = native !== undefined
exports.copyInto = native !== undefined
  ? native.copyInto
  : (target, targetOffset, source, sourceOffset, length) => {
      target.set(source.subarray(sourceOffset, sourceOffset + length), targetOffset)
    }
