// Image ids are UUIDs: a string of any other shape names no image (and must never reach a
// uuid column, where PostgreSQL refuses it with an error).

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

export function isUuid (text: string): boolean {
  return UUID.test(text)
}
