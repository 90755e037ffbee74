// Finding the namespace a metadefs request names, and answering as Glance does when it is
// missing or not visible to the caller: each controller words that 404 its own way.

import type { AppContext } from '../../context.js'
import { Errors } from '../../errors.js'
import type { Exchange } from '../exchange.js'
import { findNamespace, namespaceVisible, type NamespaceRecord } from '../../registry/metadefs-namespaces.js'
import { hasNul } from '../../domain/storable.js'

/**
 * - 'namespace': GET of the namespace itself (missing: "...namespace=X was not found.";
 *   not visible: WebOb's bare 404)
 * - 'objects': the objects controller (missing as above; not visible: "Namespace X not found")
 * - 'other': every other controller ("Namespace X not found" either way)
 */
export type MissingStyle = 'namespace' | 'objects' | 'other'

export async function visibleNamespace (ctx: AppContext, ex: Exchange, name: string, style: MissingStyle): Promise<NamespaceRecord> {
  // no stored name holds NUL (and PostgreSQL refuses it in a query)
  const ns = hasNul(name) ? undefined : await findNamespace(ctx.sql, name)
  if (ns === undefined) throw style === 'other' ? Errors.metadefNamespaceMissing(name) : Errors.metadefNamespaceNotFound(name)
  if (!namespaceVisible(ns, ex.identity)) throw style === 'namespace' ? Errors.metadefNamespaceHidden() : Errors.metadefNamespaceMissing(name)
  return ns
}

/** A name from the path or query that nothing stored can have (PostgreSQL text holds no NUL). */
export const unstorable = hasNul
