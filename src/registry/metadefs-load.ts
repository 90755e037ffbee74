// Loading, unloading and exporting metadata definition files, as `glance-manage
// db_load_metadefs / db_unload_metadefs / db_export_metadefs` do (glance/db/sqlalchemy/
// metadata.py): each file is one namespace with its resource type associations, properties,
// objects and tags. Definitions are stored as written; the API normalizes them when serving.
//
// load: a namespace already present is skipped, unless `merge`: then what it lacks is added,
// and with `preferNew` what it has is replaced by the file's; with `overwrite` the namespace is
// deleted and loaded again. Loaded rows have a created_at and no updated_at, as Glance's.

import type { Sql } from 'postgres'
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

export interface LoadOptions { merge?: boolean, preferNew?: boolean, overwrite?: boolean }
export interface LoadReport { loaded: string[], skipped: string[], failed: Array<{ file: string, error: string }> }

export class LoadOptionError extends Error {}

/** Glance's refusals: prefer_new and overwrite need merge, and exclude each other. */
export function checkLoadOptions (opts: LoadOptions): void {
  if (opts.merge !== true && (opts.preferNew === true || opts.overwrite === true)) {
    throw new LoadOptionError('To use --prefer_new or --overwrite you need to combine of these options with --merge option.')
  }
  if (opts.preferNew === true && opts.overwrite === true) {
    throw new LoadOptionError('Please provide no more than one option from this list: --prefer_new, --overwrite')
  }
}

/** The .json files of a directory (in name order), or the one file named. */
export function definitionFiles (path: string): string[] {
  if (statSync(path).isFile()) return [path]
  return readdirSync(path).filter((f) => f.endsWith('.json') && statSync(join(path, f)).isFile()).map((f) => join(path, f))
}

export async function loadDefinitions (sql: Sql, path: string, opts: LoadOptions = {}): Promise<LoadReport> {
  checkLoadOptions(opts)
  const report: LoadReport = { loaded: [], skipped: [], failed: [] }
  for (const file of definitionFiles(path)) {
    let doc: any
    try {
      doc = JSON.parse(readFileSync(file, 'utf8'))
      if (typeof doc !== 'object' || doc === null || typeof doc.namespace !== 'string') throw new Error('no "namespace" in it')
    } catch (err) {
      report.failed.push({ file, error: (err as Error).message })
      continue
    }
    const outcome = await sql.begin(async (tx) => await loadOne(tx as unknown as Sql, doc, opts))
    ;(outcome === 'loaded' ? report.loaded : report.skipped).push(doc.namespace)
  }
  return report
}

async function loadOne (sql: Sql, doc: any, opts: LoadOptions): Promise<'loaded' | 'skipped'> {
  const now = new Date()
  const values = {
    namespace: doc.namespace,
    display_name: doc.display_name ?? null,
    description: doc.description ?? null,
    visibility: doc.visibility ?? null,
    protected: doc.protected ?? null,
    owner: doc.owner ?? 'admin'
  }
  let [ns]: Array<{ id: number } | undefined> = await sql<Array<{ id: number }>>`select id from metadef_namespaces where namespace = ${values.namespace}`
  if (ns !== undefined && opts.overwrite === true) {
    await sql`delete from metadef_namespaces where id = ${ns.id}`
    ns = undefined
  }
  if (ns === undefined) {
    ;[ns] = await sql<Array<{ id: number }>>`insert into metadef_namespaces ${sql({ ...values, created_at: now })} returning id`
  } else if (opts.merge !== true) {
    return 'skipped'
  } else if (opts.preferNew === true) {
    await sql`update metadef_namespaces set ${sql({ ...values, updated_at: now })} where id = ${ns.id}`
  }
  const preferNew = opts.preferNew === true
  const namespaceId = ns!.id

  for (const rt of doc.resource_type_associations ?? []) {
    let [type]: Array<{ id: number } | undefined> = await sql<Array<{ id: number }>>`select id from metadef_resource_types where name = ${rt.name}`
    if (type === undefined) {
      ;[type] = await sql<Array<{ id: number }>>`insert into metadef_resource_types ${sql({ name: rt.name, protected: true, created_at: now })} returning id`
    } else if (preferNew) {
      await sql`update metadef_resource_types set updated_at = ${now} where id = ${type.id}`
    }
    const typeId = type!.id
    const association = { properties_target: rt.properties_target ?? null, prefix: rt.prefix ?? null }
    const [present] = await sql`select 1 from metadef_namespace_resource_types where namespace_id = ${namespaceId} and resource_type_id = ${typeId}`
    if (present === undefined) {
      await sql`insert into metadef_namespace_resource_types ${sql({ ...association, namespace_id: namespaceId, resource_type_id: typeId, created_at: now })}`
    } else if (preferNew) {
      await sql`update metadef_namespace_resource_types set ${sql({ ...association, updated_at: now })}
        where namespace_id = ${namespaceId} and resource_type_id = ${typeId}`
    }
  }
  for (const [name, schema] of Object.entries(doc.properties ?? {})) {
    await upsert(sql, 'metadef_properties', namespaceId, name, { json_schema: sql.json(schema as any) }, now, preferNew)
  }
  for (const object of doc.objects ?? []) {
    await upsert(sql, 'metadef_objects', namespaceId, object.name, {
      description: object.description ?? null, json_schema: sql.json(object.properties ?? null)
    }, now, preferNew)
  }
  for (const tag of doc.tags ?? []) await upsert(sql, 'metadef_tags', namespaceId, tag.name, {}, now, preferNew)
  return 'loaded'
}

async function upsert (sql: Sql, table: string, namespaceId: number, name: string, values: Record<string, unknown>, now: Date, preferNew: boolean): Promise<void> {
  const [row] = await sql<Array<{ id: number }>>`select id from ${sql(table)} where namespace_id = ${namespaceId} and name = ${name}`
  if (row === undefined) {
    await sql`insert into ${sql(table)} ${sql({ ...values, name, namespace_id: namespaceId, created_at: now })}`
  } else if (preferNew) {
    await sql`update ${sql(table)} set ${sql({ ...values, name, updated_at: now })} where id = ${row.id}`
  }
}

/** Deletes every metadata definition, resource types included. */
export async function unloadDefinitions (sql: Sql): Promise<void> {
  await sql.begin(async (tx) => {
    for (const table of ['metadef_properties', 'metadef_objects', 'metadef_tags', 'metadef_namespace_resource_types', 'metadef_namespaces', 'metadef_resource_types']) {
      await tx`delete from ${tx(table)}`
    }
  })
}

/**
 * Writes one file per namespace into `dir`, named after its display name without
 * punctuation or spaces (CPUPinning.json), in the format `load` reads. Returns the files.
 */
export async function exportDefinitions (sql: Sql, dir: string): Promise<string[]> {
  const namespaces = await sql<Array<{ id: number, namespace: string, display_name: string | null, description: string | null, visibility: string | null, protected: boolean | null }>>`
    select id, namespace, display_name, description, visibility, protected from metadef_namespaces order by id`
  const files: string[] = []
  for (const ns of namespaces) {
    const associations = await sql`select t.name, a.prefix, a.properties_target from metadef_namespace_resource_types a
      join metadef_resource_types t on t.id = a.resource_type_id where a.namespace_id = ${ns.id} order by a.created_at, t.id`
    const objects = await sql`select name, description, json_schema from metadef_objects where namespace_id = ${ns.id} order by id`
    const properties = await sql`select name, json_schema from metadef_properties where namespace_id = ${ns.id} order by id`
    const tags = await sql`select name from metadef_tags where namespace_id = ${ns.id} order by id`
    const doc = {
      namespace: ns.namespace,
      display_name: ns.display_name,
      description: ns.description,
      visibility: ns.visibility,
      protected: ns.protected,
      resource_type_associations: associations.map((a) => ({ name: a.name, prefix: a.prefix, properties_target: a.properties_target })),
      properties: Object.fromEntries(properties.map((p) => [p.name, p.json_schema])),
      objects: objects.map((o) => ({ name: o.name, description: o.description, properties: o.json_schema })),
      tags: tags.map((t) => ({ name: t.name }))
    }
    const base = (ns.display_name ?? ns.namespace).replace(/[^\p{L}\p{N}]+/gu, '')
    const file = join(dir, `${base === '' ? String(ns.id) : base}.json`)
    writeFileSync(file, JSON.stringify(doc, null, 4) + '\n')
    files.push(file)
  }
  return files
}
