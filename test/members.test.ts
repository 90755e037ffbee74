// Image members (glance-v2.md sections 1.1, 1.11, 4.1) on both registries: who may add,
// see, accept and remove a membership, Glance's status codes and messages, the member quota,
// and what a membership does to the member's view of the image.

import t from 'tap'
import { startGlint, type Glint } from './helpers/glint.js'
import { TRUSTED_AUTH, admin, member } from './helpers/identities.js'

const QUOTA = 3
const config = `[DEFAULT]\nimage_member_quota = ${QUOTA}\n${TRUSTED_AUTH}`
const GLANCE_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/

const OWNER = member('owner-project')
const ALICE = member('alice-project')
const BOB = member('bob-project')
const STRANGER = member('stranger-project')
const ADMIN = admin()

for (const database of ['embedded', 'postgres'] as const) {
  t.test(`members on ${database} registry`, async (t) => {
    const glint: Glint = await startGlint({ database, config })
    t.teardown(() => glint.stop())

    const newImage = async (fields: Record<string, unknown> = {}, who = OWNER): Promise<string> => {
      const reply = await glint.request('POST', '/v2/images', { json: { name: 'shared-one', ...fields }, headers: who })
      if (reply.status !== 201) throw new Error(`create: ${reply.status} ${reply.text}`)
      return reply.json.id
    }
    const members = (id: string, who = OWNER) => glint.request('GET', `/v2/images/${id}/members`, { headers: who })
    const memberIds = async (id: string, who = OWNER): Promise<string[]> =>
      (await members(id, who)).json.members.map((m: any) => m.member_id).sort()
    const add = (id: string, project: string, who = OWNER) =>
      glint.request('POST', `/v2/images/${id}/members`, { json: { member: project }, headers: who })
    const setStatus = (id: string, project: string, status: unknown, who: Record<string, string>) =>
      glint.request('PUT', `/v2/images/${id}/members/${project}`, { json: { status }, headers: who })
    const showMember = (id: string, project: string, who: Record<string, string>) =>
      glint.request('GET', `/v2/images/${id}/members/${project}`, { headers: who })
    const statusOf = async (id: string, project: string): Promise<string> => (await showMember(id, project, OWNER)).json.status

    t.test('the owner adds a member: 200 with a pending membership in Glance\'s format', async (t) => {
      const id = await newImage()
      const empty = await members(id)
      t.equal(empty.status, 200)
      t.same(empty.json, { members: [], schema: '/v2/schemas/members' })

      const added = await add(id, 'alice-project')
      t.equal(added.status, 200, 'Glance answers 200, not 201')
      t.same(Object.keys(added.json), ['member_id', 'image_id', 'status', 'created_at', 'updated_at', 'schema'])
      t.match(added.json, { member_id: 'alice-project', image_id: id, status: 'pending', schema: '/v2/schemas/member' })
      t.match(added.json.created_at, GLANCE_TIME)
      t.match(added.json.updated_at, GLANCE_TIME)

      const listed = await members(id)
      t.same(listed.json.members, [added.json], 'the list shows exactly what the create answered')
      t.same((await showMember(id, 'alice-project', OWNER)).json, added.json)
    })

    t.test('duplicates, other callers and bad bodies change nothing', async (t) => {
      const id = await newImage()
      t.equal((await add(id, 'alice-project')).status, 200)

      const dup = await add(id, 'alice-project')
      t.equal(dup.status, 409)
      t.match(dup.json.message, `Member alice-project is duplicated for image ${id}`)

      const byMember = await add(id, 'bob-project', ALICE)
      t.equal(byMember.status, 403, 'a member (who can see the image) may not add members')
      t.match(byMember.json.message, `Not allowed to create members for image ${id}.`)
      t.equal((await add(id, 'bob-project', STRANGER)).status, 404, 'a project that cannot see the image gets 404')

      const bodies: Array<[unknown, string]> = [
        [{}, 'Member to be added not specified'],
        [{ member: '' }, 'Member can\'t be empty'],
        [{ member: null }, 'Member can\'t be empty'],
        [['bob-project'], 'Expected a member in the form: {"member": "image_id"}'],
        [{ member: 12 }, 'Expected a member in the form: {"member": "image_id"}'],
        [{ member: 'x'.repeat(256) }, 'Expected a member in the form: {"member": "image_id"}']
      ]
      for (const [json, message] of bodies) {
        const reply = await glint.request('POST', `/v2/images/${id}/members`, { json, headers: OWNER })
        t.equal(reply.status, 400, JSON.stringify(json).slice(0, 40))
        t.match(reply.json.message, message)
      }
      const noBody = await glint.request('POST', `/v2/images/${id}/members`, { body: '', headers: { ...OWNER, 'Content-Type': 'application/json' } })
      t.equal(noBody.status, 400)
      t.match(noBody.json.message, 'Body expected in request.')

      t.same(await memberIds(id), ['alice-project'], 'still only the first member')
      t.equal(await statusOf(id, 'alice-project'), 'pending')
    })

    t.test('only shared images have members', async (t) => {
      const priv = await newImage({ visibility: 'private' })
      const community = await newImage({ visibility: 'community' })
      const pub = await newImage({ visibility: 'public' }, ADMIN)

      const listed = await members(priv)
      t.equal(listed.status, 403)
      t.match(listed.json.message, `Not allowed to list members for image ${priv}: Only shared images have members.`)
      for (const [id, who] of [[priv, OWNER], [community, OWNER], [pub, ADMIN]] as const) {
        const added = await add(id, 'alice-project', who)
        t.equal(added.status, 403)
        t.match(added.json.message, `Not allowed to create members for image ${id}.`)
        const shown = await showMember(id, 'alice-project', who)
        t.equal(shown.status, 404, 'show maps the refusal to 404')
        t.match(shown.json.message, 'Only shared images have members.')
        t.equal((await setStatus(id, 'alice-project', 'accepted', who)).status, 403)
        t.equal((await glint.request('DELETE', `/v2/images/${id}/members/alice-project`, { headers: who })).status, 403)
      }
      t.equal((await glint.request('GET', `/v2/images/${priv}`, { headers: ALICE })).status, 404,
        'no membership was created: the private image stays invisible to alice')
    })

    t.test('only the member changes its status; the owner gets 403, others 404', async (t) => {
      const id = await newImage()
      await add(id, 'alice-project')
      await add(id, 'bob-project')

      const byOwner = await setStatus(id, 'alice-project', 'accepted', OWNER)
      t.equal(byOwner.status, 403)
      t.match(byOwner.json.message, `Not allowed to update members for image ${id}.`)
      const otherMember = await setStatus(id, 'bob-project', 'accepted', ALICE)
      t.equal(otherMember.status, 404, 'alice cannot see bob\'s membership')
      t.match(otherMember.json.message, `bob-project not found in the member list of the image ${id}.`)
      t.equal((await setStatus(id, 'alice-project', 'accepted', STRANGER)).status, 404)
      t.equal(await statusOf(id, 'alice-project'), 'pending')
      t.equal(await statusOf(id, 'bob-project'), 'pending')

      for (const status of ['bogus', 'Accepted', 1, null]) {
        const bad = await setStatus(id, 'alice-project', status, ALICE)
        t.equal(bad.status, 400, `status ${JSON.stringify(status)}`)
        t.match(bad.json.message, 'Incorrect request: Status must be "pending", "accepted" or "rejected".')
      }
      const missing = await glint.request('PUT', `/v2/images/${id}/members/alice-project`, { json: { state: 'accepted' }, headers: ALICE })
      t.equal(missing.status, 400)
      t.match(missing.json.message, 'Status not specified')
      const listBody = await glint.request('PUT', `/v2/images/${id}/members/alice-project`, { json: ['accepted'], headers: ALICE })
      t.equal(listBody.status, 400)
      t.match(listBody.json.message, 'Expected a status in the form: {"status": "status"}')
      t.equal(await statusOf(id, 'alice-project'), 'pending', 'bad requests changed nothing')

      for (const status of ['accepted', 'rejected', 'pending', 'accepted']) {
        const reply = await setStatus(id, 'alice-project', status, ALICE)
        t.equal(reply.status, 200)
        t.match(reply.json, { member_id: 'alice-project', image_id: id, status })
        t.equal(await statusOf(id, 'alice-project'), status)
      }
      t.equal(await statusOf(id, 'bob-project'), 'pending', 'bob\'s membership is untouched')

      const byAdmin = await setStatus(id, 'bob-project', 'rejected', ADMIN)
      t.equal(byAdmin.status, 200, 'an admin may (Glance\'s legacy checks skip admins)')
      t.equal(await statusOf(id, 'bob-project'), 'rejected')
    })

    t.test('who sees which memberships', async (t) => {
      const id = await newImage()
      await add(id, 'alice-project')
      await add(id, 'bob-project')

      t.same(await memberIds(id, OWNER), ['alice-project', 'bob-project'])
      t.same(await memberIds(id, ADMIN), ['alice-project', 'bob-project'])
      t.same(await memberIds(id, ALICE), ['alice-project'], 'a member sees only its own membership')
      t.equal((await members(id, STRANGER)).status, 404)
      const unseen = await members(id, STRANGER)
      t.match(unseen.json.message, `Image ${id} not found.`)

      t.equal((await showMember(id, 'alice-project', ALICE)).status, 200)
      t.equal((await showMember(id, 'bob-project', ALICE)).status, 404)
      t.equal((await showMember(id, 'alice-project', STRANGER)).status, 404)
      const unknown = await showMember(id, 'nobody', OWNER)
      t.equal(unknown.status, 404)
      t.match(unknown.json.message, `nobody not found in the member list of the image ${id}.`)

      const unknownId = '00000000-0000-4000-8000-000000000000'
      for (const path of [`/v2/images/${unknownId}/members`, '/v2/images/not-a-uuid/members', `/v2/images/${unknownId}/members/alice-project`]) {
        t.equal((await glint.request('GET', path, { headers: OWNER })).status, 404, path)
      }
    })

    t.test('a membership shares the image: visible in any status, listed per member_status', async (t) => {
      const id = await newImage({ name: 'offered' })
      const listedFor = async (who: Record<string, string>, query = ''): Promise<boolean> => {
        const reply = await glint.request('GET', `/v2/images?limit=1000${query}`, { headers: who })
        return reply.json.images.some((image: any) => image.id === id)
      }
      t.equal((await glint.request('GET', `/v2/images/${id}`, { headers: ALICE })).status, 404, 'not shared yet')
      await add(id, 'alice-project')
      t.equal((await glint.request('GET', `/v2/images/${id}`, { headers: ALICE })).status, 200, 'pending: visible')
      t.notOk(await listedFor(ALICE), 'pending: not in the default list')
      t.ok(await listedFor(ALICE, '&member_status=pending'))
      t.ok(await listedFor(ALICE, '&member_status=all'))

      await setStatus(id, 'alice-project', 'accepted', ALICE)
      t.ok(await listedFor(ALICE), 'accepted: in the default list')
      t.notOk(await listedFor(ALICE, '&member_status=pending'))

      await setStatus(id, 'alice-project', 'rejected', ALICE)
      t.notOk(await listedFor(ALICE), 'rejected: not in the default list')
      t.ok(await listedFor(ALICE, '&member_status=rejected'))
      t.equal((await glint.request('GET', `/v2/images/${id}`, { headers: ALICE })).status, 200, 'rejected: still visible')
      t.notOk(await listedFor(BOB, '&member_status=all'), 'bob is no member')

      const deleted = await glint.request('DELETE', `/v2/images/${id}/members/alice-project`, { headers: OWNER })
      t.equal(deleted.status, 204)
      t.equal((await glint.request('GET', `/v2/images/${id}`, { headers: ALICE })).status, 404, 'removed: invisible again')
      t.notOk(await listedFor(ALICE, '&member_status=all'))
    })

    t.test('only the owner removes a member', async (t) => {
      const id = await newImage()
      await add(id, 'alice-project')
      const bySelf = await glint.request('DELETE', `/v2/images/${id}/members/alice-project`, { headers: ALICE })
      t.equal(bySelf.status, 403)
      t.match(bySelf.json.message, `Not allowed to delete members for image ${id}.`)
      t.equal((await glint.request('DELETE', `/v2/images/${id}/members/alice-project`, { headers: STRANGER })).status, 404)
      t.same(await memberIds(id), ['alice-project'], 'still a member')

      t.equal((await glint.request('DELETE', `/v2/images/${id}/members/alice-project`, { headers: OWNER })).status, 204)
      t.same(await memberIds(id), [])
      const again = await glint.request('DELETE', `/v2/images/${id}/members/alice-project`, { headers: OWNER })
      t.equal(again.status, 404)
      t.match(again.json.message, `alice-project not found in the member list of the image ${id}.`)
      t.equal((await add(id, 'alice-project')).status, 200, 'and may be added again')
    })

    t.test('image_member_quota: 413 past it, counted before the duplicate check', async (t) => {
      const id = await newImage()
      for (let i = 0; i < QUOTA; i++) t.equal((await add(id, `quota-${i}`)).status, 200)
      const over = await add(id, 'one-too-many')
      t.equal(over.status, 413)
      t.match(over.json.message, `Image member limit exceeded for image ${id}: The limit has been exceeded on the number of allowed image members for this image. Attempted: ${QUOTA + 1}, Maximum: ${QUOTA}:`)
      t.equal((await add(id, 'quota-0')).status, 413, 'a duplicate at the quota is a 413 first, as in Glance')
      t.equal((await members(id)).json.members.length, QUOTA)
      await glint.request('DELETE', `/v2/images/${id}/members/quota-0`, { headers: OWNER })
      t.equal((await add(id, 'one-too-many')).status, 200, 'room again after a removal')
    })

    t.test('concurrent adds never exceed the quota', async (t) => {
      const id = await newImage()
      const replies = await Promise.all(Array.from({ length: 8 }, (_, i) => add(id, `racer-${i}`)))
      const statuses = replies.map((r) => r.status).sort()
      t.same(statuses, [...Array(QUOTA).fill(200), ...Array(8 - QUOTA).fill(413)])
      t.equal((await members(id)).json.members.length, QUOTA)
    })

    t.test('members of a deleted image are gone with it', async (t) => {
      const id = await newImage()
      await add(id, 'alice-project')
      t.equal((await glint.request('DELETE', `/v2/images/${id}`, { headers: OWNER })).status, 204)
      for (const who of [OWNER, ALICE, ADMIN]) {
        const reply = await members(id, who)
        t.equal(reply.status, 404)
        t.match(reply.json.message, `Image ${id} not found.`)
      }
      t.equal((await add(id, 'bob-project')).status, 404)
    })
  })
}
