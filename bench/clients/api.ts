// The few Images API calls the harness makes itself (setup and cleanup, never timed), with
// the trusted identity headers both Glint and Glance accept in place of Keystone.

export const IDENTITY_HEADERS: Record<string, string> = {
  'X-Identity-Status': 'Confirmed',
  'X-Roles': 'admin',
  'X-Project-Id': 'bench',
  'X-User-Id': 'bench'
}

const CALL_TIMEOUT_MS = 60_000

/** Every image the harness created, with the server's URL: checked for store leftovers at the end. */
export const createdImages = new Map<string, string>()

async function call (base: string, method: string, path: string, body?: unknown, timeoutMs = CALL_TIMEOUT_MS): Promise<{ status: number, text: string }> {
  const headers: Record<string, string> = { ...IDENTITY_HEADERS, Accept: 'application/json' }
  if (body !== undefined) headers['Content-Type'] = 'application/json'
  const res = await fetch(base + path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs)
  })
  return { status: res.status, text: await res.text() }
}

export async function createImage (base: string, name: string): Promise<string> {
  const reply = await call(base, 'POST', '/v2/images', { name, disk_format: 'raw', container_format: 'bare' })
  if (reply.status !== 201) throw new Error(`POST /v2/images gave ${reply.status}: ${reply.text.slice(0, 200)}`)
  const id = JSON.parse(reply.text).id as string
  createdImages.set(id, base)
  return id
}

/** Deletes an image; a failure is returned, not thrown: cleanup must go on. */
export async function deleteImage (base: string, id: string): Promise<string | undefined> {
  try {
    const reply = await call(base, 'DELETE', `/v2/images/${id}`)
    return reply.status === 204 || reply.status === 404 ? undefined : `DELETE ${id} gave ${reply.status}`
  } catch (err) {
    return `DELETE ${id}: ${(err as Error).message}`
  }
}

/** The image's record (GET /v2/images/{id}). */
export async function getImage (base: string, id: string, timeoutMs = CALL_TIMEOUT_MS): Promise<Record<string, any>> {
  const reply = await call(base, 'GET', `/v2/images/${id}`, undefined, timeoutMs)
  if (reply.status !== 200) throw new Error(`GET /v2/images/${id} gave ${reply.status}`)
  return JSON.parse(reply.text)
}

/** POST /v2/images/{id}/import with this body; throws unless 202. */
export async function startImport (base: string, id: string, body: unknown): Promise<void> {
  const reply = await call(base, 'POST', `/v2/images/${id}/import`, body)
  if (reply.status !== 202) throw new Error(`POST /v2/images/${id}/import gave ${reply.status}: ${reply.text.slice(0, 200)}`)
}

export async function listStoreIds (base: string): Promise<string[]> {
  const reply = await call(base, 'GET', '/v2/info/stores')
  if (reply.status !== 200) throw new Error(`GET /v2/info/stores gave ${reply.status}`)
  return (JSON.parse(reply.text).stores as Array<{ id: string }>).map((s) => s.id)
}

export async function getText (base: string, path: string): Promise<string> {
  const reply = await call(base, 'GET', path)
  if (reply.status !== 200) throw new Error(`GET ${path} gave ${reply.status}`)
  return reply.text
}

export async function healthy (base: string): Promise<boolean> {
  try {
    const res = await fetch(`${base}/healthcheck`, { signal: AbortSignal.timeout(2000) })
    await res.text()
    return res.status === 200
  } catch { return false }
}
