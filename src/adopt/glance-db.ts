// Reads an existing Glance's database (its SQLAlchemy schema, as Glance 25.x keeps it), read
// only: PostgreSQL (postgres.js) or MySQL/MariaDB (mysql2), from the URL Glance's `[database]
// connection` spells (postgresql+psycopg2://..., mysql+pymysql://...). Nothing is ever written:
// the session is put in read-only mode before the first query.

import postgres from 'postgres'
import { createConnection } from 'mysql2/promise'

export interface GlanceImage {
  id: string
  name: string | null
  size: number | null
  status: string
  created_at: Date
  updated_at: Date | null
  deleted: boolean
  disk_format: string | null
  container_format: string | null
  checksum: string | null
  owner: string | null
  min_disk: number
  min_ram: number
  protected: boolean
  virtual_size: number | null
  visibility: string
  os_hidden: boolean
  os_hash_algo: string | null
  os_hash_value: string | null
  properties: Record<string, string>
  tags: string[]
  members: Array<{ member: string, status: string, created_at: Date, updated_at: Date | null }>
  locations: Array<{ url: string, metadata: Record<string, unknown>, status: string }>
}

export interface GlanceTask {
  id: string
  type: string
  status: string
  owner: string
  image_id: string | null
  request_id: string | null
  user_id: string | null
  input: unknown
  result: unknown
  message: string | null
  expires_at: Date | null
  created_at: Date
  updated_at: Date | null
}

export interface GlanceDatabase {
  images: GlanceImage[]
  tasks: GlanceTask[]
}

type Row = Record<string, any>

/** What Glance writes in [database] connection, as a URL one of our drivers takes. */
export function parseConnection (url: string): { dialect: 'postgres' | 'mysql', url: string } {
  const m = /^(postgresql|postgres|mysql|mariadb)(\+\w+)?:\/\/(.*)$/.exec(url.trim())
  if (m === null) throw new Error(`not a PostgreSQL or MySQL connection URL: ${url.split('://')[0]}://...`)
  const dialect = m[1].startsWith('postgres') ? 'postgres' : 'mysql'
  // SQLAlchemy query options (charset=utf8, plugin=...) mean nothing to these drivers
  const rest = m[3].replace(/\?.*$/, '')
  return { dialect, url: `${dialect === 'postgres' ? 'postgresql' : 'mysql'}://${rest}` }
}

/** Runs the reads in one read-only session and closes it. */
async function withSession<T> (connection: string, work: (query: (text: string) => Promise<Row[]>) => Promise<T>): Promise<T> {
  const { dialect, url } = parseConnection(connection)
  if (dialect === 'postgres') {
    // Glance's timestamps are UTC without a zone: parse them as UTC, whatever TZ says.
    const utc = { to: 1114, from: [1114], serialize: (d: Date) => d.toISOString(), parse: (x: string) => new Date(`${x.replace(' ', 'T')}Z`) }
    const sql = postgres(url, {
      max: 1,
      onnotice: () => {},
      types: { utc, bigint: { to: 20, from: [20], serialize: String, parse: Number } } as any,
      connection: { application_name: 'glint-adopt', default_transaction_read_only: 'on' } as any
    })
    try {
      return await work(async (text) => [...await sql.unsafe(text)] as Row[])
    } finally {
      await sql.end({ timeout: 5 })
    }
  }
  const conn = await createConnection({ uri: url, timezone: 'Z', dateStrings: false, supportBigNumbers: true, bigNumberStrings: false })
  try {
    await conn.query('SET SESSION TRANSACTION READ ONLY')
    return await work(async (text) => (await conn.query(text))[0] as Row[])
  } finally {
    await conn.end()
  }
}

const bool = (v: unknown): boolean => v === true || v === 1 || v === '1'
const num = (v: unknown): number | null => v === null || v === undefined ? null : Number(v)
const json = (text: unknown): unknown => {
  if (text === null || text === undefined || text === '') return null
  try { return JSON.parse(String(text)) } catch { return text }
}

export async function readGlance (connection: string): Promise<GlanceDatabase> {
  return await withSession(connection, async (query) => {
    const images = await query('select * from images order by created_at, id')
    const properties = await query('select image_id, name, value from image_properties where not deleted order by id')
    const tags = await query('select image_id, value from image_tags where not deleted order by id')
    const members = await query('select image_id, member, status, created_at, updated_at from image_members where not deleted order by id')
    const locations = await query('select image_id, value, meta_data, status from image_locations where not deleted order by id')
    const tasks = await query(`select t.id, t.type, t.status, t.owner, t.image_id, t.request_id, t.user_id, t.expires_at,
      t.created_at, t.updated_at, i.input, i.result, i.message from tasks t left join task_info i on i.task_id = t.id
      where not t.deleted order by t.created_at, t.id`)

    const byId = new Map<string, GlanceImage>()
    for (const r of images) {
      byId.set(r.id, {
        id: r.id,
        name: r.name,
        size: num(r.size),
        status: r.status,
        created_at: r.created_at,
        updated_at: r.updated_at,
        deleted: bool(r.deleted),
        disk_format: r.disk_format,
        container_format: r.container_format,
        checksum: r.checksum,
        owner: r.owner,
        min_disk: Number(r.min_disk),
        min_ram: Number(r.min_ram),
        protected: bool(r.protected),
        virtual_size: num(r.virtual_size),
        visibility: r.visibility,
        os_hidden: bool(r.os_hidden),
        os_hash_algo: r.os_hash_algo,
        os_hash_value: r.os_hash_value,
        properties: {},
        tags: [],
        members: [],
        locations: []
      })
    }
    for (const r of properties) { const i = byId.get(r.image_id); if (i !== undefined) i.properties[r.name] = r.value ?? '' }
    for (const r of tags) byId.get(r.image_id)?.tags.push(r.value)
    for (const r of members) byId.get(r.image_id)?.members.push({ member: r.member, status: r.status, created_at: r.created_at, updated_at: r.updated_at })
    for (const r of locations) {
      const metadata = json(r.meta_data)
      byId.get(r.image_id)?.locations.push({ url: r.value, metadata: typeof metadata === 'object' && metadata !== null ? metadata as Record<string, unknown> : {}, status: r.status })
    }
    return {
      images: [...byId.values()],
      tasks: tasks.map((r) => ({
        id: r.id,
        type: r.type,
        status: r.status,
        owner: r.owner,
        image_id: r.image_id,
        request_id: r.request_id,
        user_id: r.user_id,
        input: json(r.input),
        result: json(r.result),
        message: r.message,
        expires_at: r.expires_at,
        created_at: r.created_at,
        updated_at: r.updated_at
      }))
    }
  })
}
