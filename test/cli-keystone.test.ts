// The glint command's Keystone path (issue 16) against the real test Keystone
// (test/keystone/keystone.sh) and a Glint with flavor = keystone: a password login from OS_*
// variables, and the same from clouds.yaml (OS_CLOUD), each uploading and downloading as the
// user's project; a wrong password is refused before anything is sent. (The catalog lookup of
// the image endpoint is not exercised: re-pointing the shared Keystone's image service would
// disturb other tests; --os-image-url / image_endpoint_override name this Glint.)

import t from 'tap'
import { spawn } from 'node:child_process'
import { randomBytes, createHash } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ROOT, startGlint } from './helpers/glint.js'
import { KEYSTONE_URL, createAccount, deleteAccount, keystoneConfig, keystoneMissing, passwordToken } from './helpers/keystone.js'

const missing = await keystoneMissing()

async function glint (args: string[], env: Record<string, string>): Promise<{ code: number | null, out: string }> {
  const base: Record<string, string> = {}
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('OS_')) base[k] = v
  return await new Promise((resolve) => {
    const child = spawn(process.execPath, [join(ROOT, 'bin', 'glint.js'), ...args], { cwd: ROOT, env: { ...base, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    child.stdout.on('data', (d) => { out += d })
    child.stderr.on('data', (d) => { out += d })
    child.on('close', (code) => resolve({ code, out }))
  })
}

t.test('glint with Keystone credentials', { skip: missing }, async (t) => {
  const server = await startGlint({ config: keystoneConfig() })
  t.teardown(() => server.stop())
  const account = await createAccount('member')
  t.teardown(() => deleteAccount(account))
  const work = mkdtempSync(join(tmpdir(), 'glint-cli-keystone-'))
  t.teardown(() => rmSync(work, { recursive: true, force: true }))
  const file = join(work, 'ks-image.raw')
  const bytes = randomBytes(2 * 1024 * 1024 + 5)
  writeFileSync(file, bytes)
  const sha512 = createHash('sha512').update(bytes).digest('hex')
  const osEnv = {
    OS_AUTH_URL: KEYSTONE_URL, OS_USERNAME: account.username, OS_PASSWORD: account.password, OS_PROJECT_NAME: account.projectName,
    OS_USER_DOMAIN_NAME: 'Default', OS_PROJECT_DOMAIN_NAME: 'Default', OS_IMAGE_URL: server.url
  }
  const token = (await passwordToken(account.username, account.password, account.projectName)).token
  const show = async (name: string): Promise<any> => (await server.request('GET', `/v2/images?name=${name}`, { headers: { 'X-Auth-Token': token } })).json.images

  t.test('from OS_* variables', async (t) => {
    const up = await glint(['upload', file, '--name', 'ks-env'], osEnv)
    t.equal(up.code, 0, up.out)
    t.match(up.out, `as Keystone ${KEYSTONE_URL} (${account.username} in ${account.projectName})`)
    const [image] = await show('ks-env')
    t.match(image, { status: 'active', owner: account.projectId, os_hash_value: sha512 }, "owned by the user's project")
    const out = join(work, 'back.raw')
    const down = await glint(['download', 'ks-env', '-o', out], osEnv)
    t.equal(down.code, 0, down.out)
    t.ok(readFileSync(out).equals(bytes), 'downloaded byte-identical')
  })

  t.test('from clouds.yaml', async (t) => {
    const clouds = join(work, 'clouds.yaml')
    writeFileSync(clouds, `clouds:
  test:
    auth:
      auth_url: ${KEYSTONE_URL}
      username: ${account.username}
      password: ${account.password}
      project_name: ${account.projectName}
      user_domain_name: Default
      project_domain_name: Default
    image_endpoint_override: ${server.url}
`)
    const up = await glint(['upload', file, '--name', 'ks-cloud'], { OS_CLIENT_CONFIG_FILE: clouds, OS_CLOUD: 'test' })
    t.equal(up.code, 0, up.out)
    const [image] = await show('ks-cloud')
    t.match(image, { status: 'active', owner: account.projectId, os_hash_value: sha512 })
  })

  t.test('a wrong password is refused', async (t) => {
    const up = await glint(['upload', file, '--name', 'ks-refused'], { ...osEnv, OS_PASSWORD: 'wrong' })
    t.equal(up.code, 2)
    t.match(up.out, 'Keystone refused the credentials (401)')
    t.same(await show('ks-refused'), [], 'nothing was created')
  })
})
