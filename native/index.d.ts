// The declarations live in index.d.cts: TypeScript (module node16/nodenext) looks for
// index.d.cts when code imports './native/index.cjs'. This file re-exports them for
// anything that resolves index.d.ts instead.
export * from './index.cjs'
