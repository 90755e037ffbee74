// Types for native/copy.cjs.

/** True when the memcpy addon loaded; false when copyInto is TypedArray.prototype.set. */
export const native: boolean
/** Copies source[sourceOffset, sourceOffset + length) to target[targetOffset...]; RangeError outside either array. */
export function copyInto (target: Uint8Array, targetOffset: number, source: Uint8Array, sourceOffset: number, length: number): void
