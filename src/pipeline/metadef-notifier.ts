// Glance's metadefs notifications (metadef_namespace.*, metadef_object.*, metadef_property.*,
// metadef_tag.*, metadef_resource_type.*), sent after the registry has the change. The payload is built only when a
// notifier is configured; sending never fails or delays the request (src/notifier).

import type { Notifier } from '../notifier/notifier.js'

export function notifyMetadef (notifier: Notifier, eventType: string, payload: () => Record<string, unknown>): void {
  if (notifier.enabled) notifier.info(eventType, payload())
}
