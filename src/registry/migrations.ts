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
    name: 'upload leases: which gateway holds a saving image, and until when',
    sql: `
      alter table images add column upload_gateway text, add column upload_store text,
        add column upload_lease_expires timestamptz;
      create index images_upload_lease on images (upload_lease_expires) where status = 'saving';
    `
  }
]
