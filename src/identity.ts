// Who is asking. Built once per request by the auth layer and read by every other layer.

/** One service of a Keystone token's catalog (as keystonemiddleware passes it on in X-Service-Catalog). */
export interface CatalogEntry {
  type: string
  name?: string
  id?: string
  endpoints: Array<{ interface: string, region?: string, region_id?: string, url: string, id?: string }>
}

export interface Identity {
  projectId: string | null
  userId: string | null
  roles: string[]
  isAdmin: boolean
  /** Keystone's names and domains, when the caller came through Keystone (or a proxy said so). */
  userName?: string
  projectName?: string
  userDomainId?: string
  projectDomainId?: string
  /** The domain of a domain-scoped token (project is then null). */
  domainId?: string
  serviceCatalog?: CatalogEntry[]
  /** The caller's own token, for calls Glint makes to other services on its behalf. */
  authToken?: string
  /** When the token stops being valid (ms since the epoch). */
  expiresAt?: number
}
