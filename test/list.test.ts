// GET /v2/images (glance-v2.md section 1.5) on both registries: visibility per caller, every
// filter, both sort syntaxes, paging with `next` through every image exactly once in order,
// the links, and Glance's 400s. The expectations were checked against the real Glance 25.1.
// Pages are small (limit_param_default 4, api_limit_max 6) so that nearly every query pages.

import t, { type Test } from 'tap'
import { createHash } from 'node:crypto'
import { startGlint, type Glint } from './helpers/glint.js'
import { TRUSTED_AUTH, admin, member } from './helpers/identities.js'

// The images carry a few stand-in bytes, not real qcow2/vmdk data: the listing is under test,
// not the upload's format check (test/format-inspection.test.ts), which is turned off here.
const config = `[DEFAULT]\nlimit_param_default = 4\napi_limit_max = 6\n[image_format]\nrequire_image_format_match = false\n${TRUSTED_AUTH}`
const P1 = member('p1')
const P2 = member('p2')
const ADMIN = admin()

interface Spec { label: string, who: Record<string, string>, fields: Record<string, unknown>, data?: string, membership?: string }

// In creation order. The labels name images in the expectations below.
const SPECS: Spec[] = [
  { label: 'alpha', who: P1, fields: { name: 'alpha', disk_format: 'raw', container_format: 'bare', tags: ['x', 'y'], os_distro: 'ubuntu', min_ram: 512 }, data: 'aaa' },
  { label: 'beta', who: P1, fields: { name: 'beta', disk_format: 'qcow2', container_format: 'bare', tags: ['x'], os_distro: 'fedora', protected: true }, data: 'bbbbb' },
  { label: 'hidden', who: P1, fields: { name: 'gamma,delta', disk_format: 'iso', container_format: 'bare', os_hidden: true } },
  { label: 'noname', who: P1, fields: {} },
  { label: 'alpha2', who: P1, fields: { name: 'alpha', disk_format: 'vmdk', container_format: 'ova', visibility: 'private' }, data: 'ccccc' },
  { label: 'comm1', who: P1, fields: { name: 'comm1', visibility: 'community', disk_format: 'raw', container_format: 'bare' } },
  { label: 'shared-acc', who: P2, fields: { name: 'shared-acc', disk_format: 'raw', container_format: 'bare' }, data: '0123456789', membership: 'accepted' },
  { label: 'shared-pend', who: P2, fields: { name: 'shared-pend' }, membership: 'pending' },
  { label: 'shared-rej', who: P2, fields: { name: 'shared-rej' }, membership: 'rejected' },
  { label: 'p2-shared', who: P2, fields: { name: 'p2-shared' } },
  { label: 'p2-private', who: P2, fields: { name: 'p2-private', visibility: 'private' } },
  { label: 'public1', who: ADMIN, fields: { name: 'public1', visibility: 'public', disk_format: 'raw', container_format: 'bare' } },
  { label: 'comm2', who: P2, fields: { name: 'comm2', visibility: 'community' } },
  { label: 'colon', who: P1, fields: { name: 'x:y' } },
  // same names, formats and sizes over and over: the sort keys alone do not order these
  ...Array.from({ length: 10 }, (_, i): Spec => ({
    label: `page${i}`,
    who: i % 3 === 0 ? ADMIN : P1,
    fields: { name: `page${i % 3}`, disk_format: i % 2 === 0 ? 'raw' : 'qcow2', container_format: 'bare', ...(i % 3 === 0 ? { visibility: 'public' } : {}) }
  }))
]
const PAGES = SPECS.filter((s) => s.label.startsWith('page')).map((s) => s.label)
const VISIBILITY_CASES = ['alpha', 'hidden', 'alpha2', 'comm1', 'shared-acc', 'shared-pend', 'shared-rej', 'p2-shared', 'p2-private', 'public1', 'comm2']
// everything p1 lists by default
const P1_DEFAULT = ['alpha', 'beta', 'noname', 'alpha2', 'comm1', 'shared-acc', 'public1', 'colon', ...PAGES]

for (const database of ['embedded', 'postgres'] as const) {
  t.test(`image list on ${database} registry`, async (t) => {
    const glint: Glint = await startGlint({ database, config })
    t.teardown(() => glint.stop())

    const ids: Record<string, string> = {}
    const labels: Record<string, string> = {}
    for (const spec of SPECS) {
      const created = await glint.request('POST', '/v2/images', { json: spec.fields, headers: spec.who })
      if (created.status !== 201) throw new Error(`${spec.label}: ${created.status} ${created.text}`)
      ids[spec.label] = created.json.id
      labels[created.json.id] = spec.label
      if (spec.data !== undefined) {
        const up = await glint.request('PUT', `/v2/images/${created.json.id}/file`, { body: spec.data, headers: { ...spec.who, 'Content-Type': 'application/octet-stream' } })
        if (up.status !== 204) throw new Error(`upload ${spec.label}: ${up.status} ${up.text}`)
      }
      if (spec.membership !== undefined) {
        await glint.request('POST', `/v2/images/${created.json.id}/members`, { json: { member: 'p1' }, headers: spec.who })
        if (spec.membership !== 'pending') {
          await glint.request('PUT', `/v2/images/${created.json.id}/members/p1`, { json: { status: spec.membership }, headers: P1 })
        }
      }
    }

    /** Every image the query lists, following `next` to the end. */
    const collect = async (query: string, who = P1): Promise<{ images: any[], pages: number }> => {
      let url: string | undefined = `/v2/images${query === '' ? '' : `?${query}`}`
      const images: any[] = []
      let pages = 0
      while (url !== undefined) {
        const reply = await glint.request('GET', url, { headers: who })
        if (reply.status !== 200) throw new Error(`${url}: ${reply.status} ${reply.text}`)
        images.push(...reply.json.images)
        url = reply.json.next
        if (++pages > 100) throw new Error(`${query}: next never ends`)
      }
      return { images, pages }
    }
    const listed = async (query: string, who = P1): Promise<string[]> =>
      (await collect(query, who)).images.map((image) => labels[image.id]).sort()
    const rejected = async (t: Test, query: string, message: string): Promise<void> => {
      const reply = await glint.request('GET', `/v2/images?${query}`, { headers: P1 })
      t.equal(reply.status, 400, query)
      t.equal(reply.json?.message, `${message}<br /><br />\n\n\n`, query)
    }
    const sorted = (list: string[]) => [...list].sort()

    t.test('visibility: what each project and an admin list', async (t) => {
      const cases: Array<[Record<string, string>, string, string[]]> = [
        [P1, '', ['alpha', 'alpha2', 'comm1', 'shared-acc', 'public1']],
        [P1, 'visibility=public', ['public1']],
        [P1, 'visibility=private', ['alpha2']],
        [P1, 'visibility=shared', ['alpha', 'shared-acc']],
        [P1, 'visibility=community', ['comm1', 'comm2']],
        [P1, 'visibility=all', ['alpha', 'alpha2', 'comm1', 'shared-acc', 'public1', 'comm2']],
        [P1, 'member_status=pending', ['alpha', 'alpha2', 'comm1', 'shared-pend', 'public1']],
        [P1, 'member_status=rejected', ['alpha', 'alpha2', 'comm1', 'shared-rej', 'public1']],
        [P1, 'member_status=all', ['alpha', 'alpha2', 'comm1', 'shared-acc', 'shared-pend', 'shared-rej', 'public1']],
        [P1, 'visibility=shared&member_status=all', ['alpha', 'shared-acc', 'shared-pend', 'shared-rej']],
        [P1, 'os_hidden=true', ['hidden']],
        [P2, '', ['shared-acc', 'shared-pend', 'shared-rej', 'p2-shared', 'p2-private', 'public1', 'comm2']],
        [P2, 'visibility=community', ['comm1', 'comm2']],
        [P2, 'member_status=pending', ['shared-acc', 'shared-pend', 'shared-rej', 'p2-shared', 'p2-private', 'public1', 'comm2']],
        [ADMIN, '', ['alpha', 'alpha2', 'shared-acc', 'shared-pend', 'shared-rej', 'p2-shared', 'p2-private', 'public1']],
        [ADMIN, 'visibility=all', VISIBILITY_CASES.filter((l) => l !== 'hidden')],
        [ADMIN, 'visibility=private', ['alpha2', 'p2-private']],
        [ADMIN, 'visibility=community', ['comm1', 'comm2']],
        [ADMIN, 'member_status=rejected', ['alpha', 'alpha2', 'shared-acc', 'shared-pend', 'shared-rej', 'p2-shared', 'p2-private', 'public1']],
        [ADMIN, 'os_hidden=true&visibility=all', ['hidden']]
      ]
      for (const [who, query, expected] of cases) {
        const seen = (await listed(query, who)).filter((l) => VISIBILITY_CASES.includes(l))
        t.same(seen, sorted(expected), `${who['X-Project-Id']} ${query === '' ? '(default)' : query}`)
      }
    })

    t.test('filters', async (t) => {
      const md5 = createHash('md5').update('aaa').digest('hex')
      const sha512 = createHash('sha512').update('aaa').digest('hex')
      const cases: Array<[string, string[]]> = [
        ['name=alpha', ['alpha', 'alpha2']],
        ['name=eq:alpha', ['alpha', 'alpha2']],
        ['name=in:alpha,beta', ['alpha', 'alpha2', 'beta']],
        ['name=in:"gamma,delta",beta&os_hidden=true', ['hidden']],
        ['name=in:"gamma,delta",beta', ['beta']],
        ['name=in:alpha,,beta', ['alpha', 'alpha2', 'beta']],
        ['name=in:', []],
        ['name=eq:x:y', ['colon']],
        [`id=in:${ids.alpha},${ids.beta},${ids['p2-private']}`, ['alpha', 'beta']],
        [`id=${ids.noname}`, ['noname']],
        ['disk_format=raw', ['alpha', 'comm1', 'shared-acc', 'public1', 'page0', 'page2', 'page4', 'page6', 'page8']],
        ['disk_format=in:vmdk,iso', ['alpha2']],
        ['container_format=ova', ['alpha2']],
        ['status=active', ['alpha', 'beta', 'alpha2', 'shared-acc']],
        ['status=in:active,queued', P1_DEFAULT],
        ['protected=true', ['beta']],
        ['protected=false', P1_DEFAULT.filter((l) => l !== 'beta')],
        ['os_hidden=TRUE', ['hidden']],
        ['os_hidden=false', P1_DEFAULT],
        ['tag=x', ['alpha', 'beta']],
        ['tag=x&tag=y', ['alpha']],
        ['tag=y&tag=z', []],
        ['tag=%20y%20', ['alpha']],
        ['os_distro=ubuntu', ['alpha']],
        ['os_distro=ubuntu&name=beta', []],
        ['min_ram=512', ['alpha']],
        ['min_ram_min=100', ['alpha']],
        ['size_min=4', ['beta', 'alpha2', 'shared-acc']],
        ['size_max=4', ['alpha']],
        ['size_min=4&size_max=9', ['beta', 'alpha2']],
        ['size_min=10&size_max=3', []],
        ['size_min=%205', ['beta', 'alpha2', 'shared-acc']],
        ['size=5', ['beta', 'alpha2']],
        ['owner=p2', ['shared-acc']],
        [`checksum=${md5}`, ['alpha']],
        [`os_hash_value=${sha512}`, ['alpha']],
        ['os_hash_algo=sha512', ['alpha', 'beta', 'alpha2', 'shared-acc']],
        ['created_at=gt:2000-01-01T00:00:00Z', P1_DEFAULT],
        ['created_at=lt:2000-01-01T00:00:00Z', []],
        ['updated_at=gte:2000', P1_DEFAULT],
        ['created_at=gt:20000101T000000', P1_DEFAULT],
        ['updated_at=lte:2999-12-31T23:59:59%2B05:00', P1_DEFAULT],
        ['created_at=2000-01-01T00:00:00Z', []],
        ['deleted_at=2020-01-01', []],
        ['deleted=true', P1_DEFAULT]
      ]
      for (const [query, expected] of cases) t.same(await listed(query), sorted(expected), query)

      const alpha = (await glint.request('GET', `/v2/images/${ids.alpha}`, { headers: P1 })).json
      t.ok((await listed(`created_at=eq:${alpha.created_at}`)).includes('alpha'), 'eq: matches the shown (whole-second) time')
      t.notOk((await listed(`created_at=neq:${alpha.created_at}`)).includes('alpha'))
      t.ok((await listed(`updated_at=gte:${alpha.updated_at}`)).includes('alpha'))
      t.notOk((await listed(`updated_at=lt:${alpha.updated_at}`)).includes('alpha'))
    })

    t.test('bad filters: 400 with Glance\'s message', async (t) => {
      await rejected(t, 'name=x:y', 'Unable to filter by unknown operator \'x\'.')
      await rejected(t, 'disk_format=gt:raw', 'Unable to filter by unknown operator \'gt\'.')
      await rejected(t, 'name=in:"a"b', 'Invalid filter value "a"b. There is no comma after closing quotation mark.')
      await rejected(t, 'name=in:a"b"', 'Invalid filter value a"b". There is no comma before opening quotation mark.')
      await rejected(t, 'name=in:"ab', 'Invalid filter value "ab. The quote is not closed.')
      await rejected(t, 'created_at=bogus', 'Bad "created_at" query filter format. Use ISO 8601 DateTime notation.')
      await rejected(t, 'updated_at=gt:2000-13-01', 'Bad "updated_at" query filter format. Use ISO 8601 DateTime notation.')
      await rejected(t, 'created_at=gt:200001', 'Bad "created_at" query filter format. Use ISO 8601 DateTime notation.')
      await rejected(t, 'created_at=foo:2000-01-01T00:00:00Z', 'Unable to filter on a unknown operator.')
      await rejected(t, 'size_min=abc', 'Unable to filter on a range with a non-numeric value.')
      await rejected(t, 'size_max=1.5', 'Unable to filter on a range with a non-numeric value.')
      await rejected(t, 'size=abc', 'Unable to filter on size with a non-numeric value.')
      await rejected(t, 'protected=True', 'Invalid value \'True\' for \'protected\' filter. Valid values are \'true\' or \'false\'.')
      await rejected(t, 'os_hidden=yes', 'Invalid value \'yes\' for \'os_hidden\' filter. Valid values are \'true\' or \'false\'.')
      await rejected(t, 'visibility=bogus', 'Invalid visibility value: bogus')
      await rejected(t, 'visibility=', 'Invalid visibility value: ')
      await rejected(t, 'member_status=bogus', 'Invalid status: bogus')
      await rejected(t, 'changes-since=2020-01-01T00:00:00Z', 'The "changes-since" filter is no longer available on v2.')
      await rejected(t, 'limit=-1', 'limit param must be positive')
      await rejected(t, 'limit=abc', 'limit param must be an integer')
      await rejected(t, 'limit=1.5', 'limit param must be an integer')
      await rejected(t, 'marker=00000000-0000-4000-8000-000000000000', 'No image found with ID 00000000-0000-4000-8000-000000000000')
      await rejected(t, 'marker=bogus', 'No image found with ID bogus')
      await rejected(t, `marker=${ids['p2-private']}`, `No image found with ID ${ids['p2-private']}`)
      const keys = 'name, status, container_format, disk_format, size, id, created_at, updated_at'
      await rejected(t, 'sort_key=owner', `Invalid sort key: owner. It must be one of the following: ${keys}.`)
      await rejected(t, 'sort=bogus:asc', `Invalid sort key: bogus. It must be one of the following: ${keys}.`)
      await rejected(t, 'sort=', `Invalid sort key: . It must be one of the following: ${keys}.`)
      await rejected(t, 'sort_dir=up', 'Invalid sort direction: up')
      await rejected(t, 'sort=name:up', 'Invalid sort direction: up')
      await rejected(t, 'sort=name:asc:x', 'Invalid sort direction: asc:x')
      await rejected(t, 'sort_key=name&sort_dir=asc&sort_dir=desc', 'Number of sort dirs does not match the number of sort keys')
      await rejected(t, 'sort_dir=asc&sort_dir=desc', 'Number of sort dirs does not match the number of sort keys')
      await rejected(t, 'sort=name:asc&sort_key=name', 'Old and new sorting syntax cannot be combined')
      await rejected(t, 'sort=name:asc&sort_dir=asc', 'Old and new sorting syntax cannot be combined')
    })

    t.test('limit: default, cap, zero', async (t) => {
      const plain = await glint.request('GET', '/v2/images', { headers: P1 })
      t.equal(plain.json.images.length, 4, 'limit_param_default')
      t.equal(plain.json.first, '/v2/images')
      t.equal(plain.json.next, `/v2/images?marker=${plain.json.images[3].id}`)
      const capped = await glint.request('GET', '/v2/images?limit=100', { headers: P1 })
      t.equal(capped.json.images.length, 6, 'api_limit_max caps a bigger limit')
      t.equal(capped.json.next, `/v2/images?limit=100&marker=${capped.json.images[5].id}`, 'the link keeps the limit asked for')
      const zero = await glint.request('GET', '/v2/images?limit=0', { headers: P1 })
      t.same(zero.json.images, [])
      t.notOk('next' in zero.json, 'an empty page has no next')
      const spaced = await glint.request('GET', '/v2/images?limit=%202%20', { headers: P1 })
      t.equal(spaced.json.images.length, 2, 'Python\'s int() takes surrounding blanks')
    })

    t.test('sorting and paging: every image once, in order, whatever the page size', async (t) => {
      const value = (image: any, key: string): string | number => {
        const v = image[key]
        if (key === 'size') return v ?? -1
        return v ?? ''
      }
      const specs: Array<[string, Array<[string, 'asc' | 'desc']>, Record<string, string>]> = [
        ['', [['created_at', 'desc']], P1],
        ['sort=name:asc', [['name', 'asc']], P1],
        ['sort_key=name&sort_dir=desc', [['name', 'desc']], P1],
        ['sort=name', [['name', 'desc']], P1],
        ['sort=disk_format:asc,name:desc', [['disk_format', 'asc'], ['name', 'desc']], P1],
        ['sort_key=status&sort_key=size&sort_dir=asc', [['status', 'asc'], ['size', 'asc']], P1],
        ['sort=size:desc', [['size', 'desc']], P1],
        ['sort=container_format:desc,id:asc', [['container_format', 'desc'], ['id', 'asc']], P1],
        ['sort=updated_at:asc', [['updated_at', 'asc']], P1],
        ['sort_key=id', [['id', 'desc']], P1],
        ['visibility=all&sort=name:asc,disk_format:desc', [['name', 'asc'], ['disk_format', 'desc']], ADMIN],
        ['visibility=all&sort=size:asc', [['size', 'asc']], ADMIN]
      ]
      for (const [query, keys, who] of specs) {
        const expected = sorted(await listed(`${query}&limit=6`, who))
        let reference: string[] | undefined
        for (const limit of [1, 2, 5]) {
          const { images, pages } = await collect(`${query}${query === '' ? '' : '&'}limit=${limit}`, who)
          const order = images.map((image) => labels[image.id])
          const label = `${query === '' ? '(default)' : query} limit=${limit}`
          t.same(sorted(order), expected, `${label}: every image exactly once`)
          t.equal(new Set(order).size, order.length, `${label}: no repeats`)
          t.equal(pages, Math.floor(order.length / limit) + 1, `${label}: next on every full page`)
          const outOfOrder = images.slice(1).findIndex((image, i) => {
            for (const [key, dir] of keys) {
              const a = value(images[i], key)
              const b = value(image, key)
              if (a !== b) return dir === 'asc' ? a > b : a < b
            }
            return false
          })
          t.equal(outOfOrder, -1, `${label}: in order`)
          if (reference === undefined) reference = order
          else t.same(order, reference, `${label}: the same order as with limit=1`)
        }
      }
    })

    t.test('ties: created_at then id, in the one sort_dir given, else descending', async (t) => {
      const creation = PAGES.filter((l) => SPECS.find((s) => s.label === l)!.fields.name === 'page1')
      const pageOnes = async (query: string) => (await collect(`name=page1&limit=2&${query}`)).images.map((i) => labels[i.id])
      t.same(await pageOnes('sort=name:asc'), creation, 'one direction (asc) applies to the tiebreakers')
      t.same(await pageOnes('sort=name:desc'), [...creation].reverse())
      t.same(await pageOnes('sort=name:asc,disk_format:asc'), [...creation].sort((a, b) => {
        const format = (l: string) => SPECS.find((s) => s.label === l)!.fields.disk_format as string
        return format(a) === format(b) ? creation.indexOf(b) - creation.indexOf(a) : format(a) < format(b) ? -1 : 1
      }), 'a direction per key: the tiebreakers descend')
      t.same(await pageOnes('sort_dir=asc'), creation, 'sort_dir alone orders created_at')
    })

    t.test('first and next links', async (t) => {
      const page = await glint.request('GET', '/v2/images?limit=2&sort=name:asc&os_distro=a%20b,c*~\'!', { headers: P1 })
      t.equal(page.json.first, '/v2/images?limit=2&sort=name%3Aasc&os_distro=a+b%2Cc%2A~%27%21', 'Python urlencode quoting')
      t.same(page.json.images, [])
      t.notOk('next' in page.json)

      const full = await glint.request('GET', '/v2/images?name=alpha&limit=2', { headers: P1 })
      t.equal(full.json.images.length, 2)
      t.equal(full.json.next, `/v2/images?name=alpha&limit=2&marker=${full.json.images[1].id}`, 'a full page has next')
      t.equal(full.json.schema, '/v2/schemas/images')
      const after = await glint.request('GET', full.json.next, { headers: P1 })
      t.same(after.json.images, [], 'even when nothing follows')
      t.notOk('next' in after.json)
      t.equal(after.json.first, '/v2/images?name=alpha&limit=2', 'first drops the marker')

      const moved = await glint.request('GET', `/v2/images?marker=${ids.beta}&limit=1&tag=x&tag=y`, { headers: P1 })
      t.equal(moved.json.first, '/v2/images?limit=1&tag=x&tag=y', 'repeated filters are kept (Glance drops all but the last)')
      t.equal(moved.json.next, `/v2/images?limit=1&tag=x&tag=y&marker=${moved.json.images[0].id}`, 'the marker goes last')
    })

    t.test('a deleted image is no marker and is never listed', async (t) => {
      const doomed = (await glint.request('POST', '/v2/images', { json: { name: 'doomed' }, headers: P1 })).json
      const doomedIds = async () => (await collect('name=doomed')).images.map((i) => i.id)
      t.same(await doomedIds(), [doomed.id], 'listed while alive')
      t.equal((await glint.request('DELETE', `/v2/images/${doomed.id}`, { headers: P1 })).status, 204)
      t.same(await doomedIds(), [])
      await rejected(t, `marker=${doomed.id}`, `No image found with ID ${doomed.id}`)
    })
  })
}
