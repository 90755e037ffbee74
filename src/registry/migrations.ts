// Versioned schema migrations, applied in order at start (see migrate.ts). Never edit a
// released migration: add the next version.

export interface Migration { version: number, name: string, sql: string }

export const MIGRATIONS: Migration[] = [
  {
    version: 1,
    name: 'images, properties, tags, members, locations, tasks',
    sql: `
      create table images (
        id uuid primary key,
        name text,
        status text not null,
        visibility text not null,
        size bigint,
        virtual_size bigint,
        checksum text,
        os_hash_algo text,
        os_hash_value text,
        disk_format text,
        container_format text,
        min_disk integer not null default 0,
        min_ram integer not null default 0,
        protected boolean not null default false,
        os_hidden boolean not null default false,
        owner text,
        created_at timestamptz not null,
        updated_at timestamptz not null,
        deleted boolean not null default false,
        deleted_at timestamptz
      );
      create index images_live_created on images (created_at desc, id desc) where not deleted;
      create index images_live_owner on images (owner) where not deleted;

      create table image_properties (
        image_id uuid not null references images (id) on delete cascade,
        name text not null,
        value text not null,
        primary key (image_id, name)
      );
      create index image_properties_name_value on image_properties (name, value);

      create table image_tags (
        image_id uuid not null references images (id) on delete cascade,
        value text not null,
        primary key (image_id, value)
      );
      create index image_tags_value on image_tags (value);

      create table image_members (
        image_id uuid not null references images (id) on delete cascade,
        member text not null,
        status text not null default 'pending',
        created_at timestamptz not null,
        updated_at timestamptz not null,
        primary key (image_id, member)
      );
      create index image_members_member on image_members (member);

      -- One row per copy of the image's data: one per store holding it.
      create table image_locations (
        id bigserial primary key,
        image_id uuid not null references images (id) on delete cascade,
        store text not null,
        url text not null,
        metadata jsonb not null default '{}',
        created_at timestamptz not null default now(),
        unique (image_id, store)
      );

      create table tasks (
        id uuid primary key,
        type text not null,
        status text not null,
        owner text not null,
        image_id uuid,
        request_id text,
        user_id text,
        input jsonb,
        result jsonb,
        message text,
        expires_at timestamptz,
        created_at timestamptz not null,
        updated_at timestamptz not null,
        deleted boolean not null default false,
        deleted_at timestamptz
      );
    `
  },
  {
    version: 2,
    name: 'metadata definitions: namespaces, resource types, objects, properties, tags',
    // Glance's metadef tables (glance/db/sqlalchemy/models_metadef.py), without its
    // varchar limits: the API's schemas bound the lengths. json (not jsonb) keeps a
    // definition's keys in the order they were written, as Glance's text column does.
    sql: `
      create table metadef_namespaces (
        id serial primary key,
        namespace text not null unique,
        display_name text,
        description text,
        visibility text,
        protected boolean,
        owner text not null,
        created_at timestamptz not null,
        updated_at timestamptz
      );
      create index metadef_namespaces_owner on metadef_namespaces (owner);

      create table metadef_resource_types (
        id serial primary key,
        name text not null unique,
        protected boolean not null default false,
        created_at timestamptz not null,
        updated_at timestamptz
      );

      create table metadef_namespace_resource_types (
        resource_type_id integer not null references metadef_resource_types (id),
        namespace_id integer not null references metadef_namespaces (id) on delete cascade,
        properties_target text,
        prefix text,
        created_at timestamptz not null,
        updated_at timestamptz,
        primary key (resource_type_id, namespace_id)
      );
      create index metadef_ns_res_types_namespace on metadef_namespace_resource_types (namespace_id);

      create table metadef_objects (
        id serial primary key,
        namespace_id integer not null references metadef_namespaces (id) on delete cascade,
        name text not null,
        description text,
        required text,
        json_schema json not null default '{}',
        created_at timestamptz not null,
        updated_at timestamptz,
        unique (namespace_id, name)
      );

      create table metadef_properties (
        id serial primary key,
        namespace_id integer not null references metadef_namespaces (id) on delete cascade,
        name text not null,
        json_schema json not null default '{}',
        created_at timestamptz not null,
        updated_at timestamptz,
        unique (namespace_id, name)
      );

      create table metadef_tags (
        id serial primary key,
        namespace_id integer not null references metadef_namespaces (id) on delete cascade,
        name text not null,
        created_at timestamptz not null,
        updated_at timestamptz,
        unique (namespace_id, name)
      );
    `
  },
  {
    version: 3,
    name: 'property values of any length (a btree entry holds at most ~2.7 KB)',
    sql: `
      drop index if exists image_properties_name_value;
      -- a hash index keeps only each value's hash: property filters (p.value = $1) still use it
      create index image_properties_value on image_properties using hash (value);
    `
  },
  {
    version: 4,
    name: 'upload leases: which gateway holds a saving image, and until when',
    sql: `
      alter table images add column upload_gateway text, add column upload_store text,
        add column upload_lease_expires timestamptz;
      create index images_upload_lease on images (upload_lease_expires) where status = 'saving';
    `
  },
  {
    version: 5,
    name: 'several locations of an image in one store (http locations, rbd:// clones added through PATCH)',
    sql: `
      alter table image_locations drop constraint image_locations_image_id_store_key;
      create index image_locations_image on image_locations (image_id, id);
    `
  },
  {
    version: 6,
    name: 'import tasks as jobs: which gateway runs a task, until when its lease lasts, how often it was started',
    sql: `
      alter table tasks add column lease_gateway text, add column lease_expires timestamptz,
        add column attempts integer not null default 0;
      create index tasks_runnable on tasks (created_at) where status in ('pending', 'processing') and not deleted;
      create index tasks_image on tasks (image_id);
      -- a stage in progress holds a lease as an upload does (status uploading, upload_gateway set)
      create index images_stage_lease on images (upload_lease_expires) where status = 'uploading' and upload_gateway is not null;
    `
  },
  {
    version: 7,
    name: 'what a glance-download task needs of its caller (token, resolved endpoint), kept apart from the task',
    // Not in tasks: GET /v2/tasks shows a task's columns to its owner (and every task to an
    // admin), and a caller's token must not be shown. The row goes when the task ends.
    sql: `
      create table task_credentials (
        task_id uuid primary key references tasks (id) on delete cascade,
        auth_token text not null,
        token_expires timestamptz,
        endpoint text
      );
    `
  },
  {
    version: 8,
    name: 'every change to what an image read returns is announced (NOTIFY glint_images) to the read caches of all gateways',
    sql: `
      create function glint_images_changed() returns trigger language plpgsql as $$
      begin
        perform pg_notify('glint_images', '');
        return null;
      end $$;
      create trigger images_changed after insert or update or delete or truncate on images
        for each statement execute function glint_images_changed();
      create trigger image_properties_changed after insert or update or delete or truncate on image_properties
        for each statement execute function glint_images_changed();
      create trigger image_tags_changed after insert or update or delete or truncate on image_tags
        for each statement execute function glint_images_changed();
      create trigger image_locations_changed after insert or update or delete or truncate on image_locations
        for each statement execute function glint_images_changed();
      create trigger image_members_changed after insert or update or delete or truncate on image_members
        for each statement execute function glint_images_changed();
    `
  }
]
