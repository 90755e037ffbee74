// One catalogue of every error Glint answers with: a stable code, the HTTP status and the
// message Glance would give. Handlers throw these; src/http/respond.ts renders them in
// Glance's (WebOb's) format. Tests assert on `code`, clients read the message.

export class GlintError extends Error {
  readonly code: string
  readonly status: number
  headers?: Record<string, string>
  /** A body that is always sent as it is, whatever the Accept header (keystonemiddleware's 401). */
  fixedBody?: { type: string, text: string }
  constructor (code: string, status: number, message: string, headers?: Record<string, string>) {
    super(message)
    this.name = 'GlintError'
    this.code = code
    this.status = status
    this.headers = headers
  }
}

export const STATUS_TITLES: Record<number, string> = {
  300: 'Multiple Choices',
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  410: 'Gone',
  413: 'Request Entity Too Large',
  415: 'Unsupported Media Type',
  416: 'Requested Range Not Satisfiable',
  500: 'Internal Server Error',
  503: 'Service Unavailable'
}

type Arg = string | number
function define (code: string, status: number, message: (...args: Arg[]) => string) {
  return (...args: Arg[]) => new GlintError(code, status, message(...args))
}

export const Errors = {
  // request plumbing
  routeNotFound: define('GLINT_ROUTE_NOT_FOUND', 404, () => 'The resource could not be found.'),
  methodNotAllowed: (allow: string[]) => new GlintError('GLINT_METHOD_NOT_ALLOWED', 405,
    'The method specified is not allowed for this resource.', { Allow: allow.join(', ') }),
  bodyNotExpected: define('GLINT_BODY_NOT_EXPECTED', 400, () => 'A body is not expected with this request.'),
  bodyExpected: define('GLINT_BODY_EXPECTED', 400, () => 'Body expected in request.'),
  bodyTooLarge: define('GLINT_BODY_TOO_LARGE', 413, (max) => `Request body is larger than the limit of ${max} bytes.`),
  malformedJson: define('GLINT_MALFORMED_JSON', 400, () => 'Malformed JSON in request body.'),
  jsonTooDeep: define('GLINT_JSON_TOO_DEEP', 400, (max) => `Malformed JSON in request body: nested deeper than ${max} levels.`),
  unexpectedBodyType: define('GLINT_UNEXPECTED_BODY_TYPE', 400, () => 'Unexpected body type. Expected list/dict.'),
  unsupportedMediaType: define('GLINT_UNSUPPORTED_MEDIA_TYPE', 415, (type) => `Unsupported Content-Type: ${type}`),
  unsupportedPatchType: () => new GlintError('GLINT_UNSUPPORTED_PATCH_TYPE', 415, 'The server does not support the Content-Type of the request body.',
    { 'Accept-Patch': 'application/openstack-images-v2.0-json-patch, application/openstack-images-v2.1-json-patch' }),
  // WebOb's HTTPUnauthorized text: Glance's ContextMiddleware raises it without one of its own
  unauthorized: define('GLINT_UNAUTHORIZED', 401, () => 'This server could not verify that you are authorized to access the document you requested. Either you supplied the wrong credentials (e.g., bad password), or your browser does not understand how to supply the credentials required.'),
  registryUnavailable: define('GLINT_REGISTRY_UNAVAILABLE', 503, () => 'The image registry is not available. Please try again later.'),
  // keystonemiddleware's auth_token answers for Glance, in JSON whatever the client accepts
  keystoneUnauthorized: (uri: string) => Object.assign(
    new GlintError('GLINT_UNAUTHORIZED', 401, 'The request you have made requires authentication.', { 'WWW-Authenticate': `Keystone uri="${uri}"` }),
    { fixedBody: { type: 'application/json; charset=UTF-8', text: '{"error": {"code": 401, "title": "Unauthorized", "message": "The request you have made requires authentication."}}' } }),
  keystoneUnavailable: define('GLINT_KEYSTONE_UNAVAILABLE', 503, () => 'The Keystone service is temporarily unavailable.'),
  registryTimeout: define('GLINT_REGISTRY_TIMEOUT', 503, () => 'The image registry did not answer in time. Please try again later.'),
  internal: define('GLINT_INTERNAL', 500, () => 'The server has either erred or is incapable of performing the requested operation.'),

  // images
  imageNotFound: define('GLINT_IMAGE_NOT_FOUND', 404, (id) => `No image found with ID ${id}`),
  imageExists: define('GLINT_IMAGE_EXISTS', 409, (id) => `An image with identifier ${id} already exists`),
  imageProtected: define('GLINT_IMAGE_PROTECTED', 403, (id) => `Image ${id} is protected and cannot be deleted.`),
  imageInUse: define('GLINT_IMAGE_IN_USE', 409, (id) => `Image ${id} could not be deleted because it is in use: The image cannot be deleted because it is in use through the backend store outside of Glance.`),
  notOwner: define('GLINT_NOT_OWNER', 403, () => 'You do not own this image'),
  forbidden: define('GLINT_FORBIDDEN', 403, (what) => `You are not authorized to complete ${what} action.`),
  // ImageAPIPolicy turns a refusal on an image the caller may not even see into a bare 404
  imageHidden: define('GLINT_IMAGE_NOT_FOUND', 404, () => 'The resource could not be found.'),
  // add_image refused by policy for another project's image (Glance's wording has no full stop here)
  ownerPolicyForbidden: define('GLINT_OWNER_FORBIDDEN', 403, (owner) => `You are not permitted to create images owned by '${owner}'`),
  ownerForbidden: define('GLINT_OWNER_FORBIDDEN', 403, (owner) => `You are not permitted to create images owned by '${owner}'.`),
  readOnly: define('GLINT_READ_ONLY', 403, (attr) => `Attribute '${attr}' is read-only.`),
  reserved: define('GLINT_RESERVED', 403, (attr) => `Attribute '${attr}' is reserved.`),
  cannotRemove: define('GLINT_CANNOT_REMOVE', 403, (attr) => `Property ${attr} may not be removed.`),
  propertyMissing: define('GLINT_PROPERTY_MISSING', 409, (name) => `Property ${name} does not exist.`),
  propertyExists: define('GLINT_PROPERTY_EXISTS', 409, (name) => `Property ${name} already present.`),
  // Glance's no_4byte_params wording; PostgreSQL text cannot hold NUL at all
  nulCharacter: define('GLINT_NUL_CHARACTER', 400, (what) => `${what} can't contain the NUL character.`),
  // glance.db.sqlalchemy.api._validate_db_int
  intOutOfRange: define('GLINT_INT_OUT_OF_RANGE', 400, (param) => `'${param}' value out of range, must not exceed 2147483647.`),
  schemaInvalid: define('GLINT_SCHEMA_INVALID', 400, (detail) => `Provided object does not match schema 'image': ${detail}`),
  formatLocked: define('GLINT_FORMAT_LOCKED', 403, (attr) => `Attribute ${attr} can be only replaced for a queued image.`),
  tooManyProperties: define('GLINT_TOO_MANY_PROPERTIES', 413, (attempted, max) => `The limit has been exceeded on the number of allowed image properties. Attempted: ${attempted}, Maximum: ${max}`),
  tooManyTags: define('GLINT_TOO_MANY_TAGS', 413, (attempted, max) => `The limit has been exceeded on the number of allowed image tags. Attempted: ${attempted}, Maximum: ${max}`),
  tagNotFound: define('GLINT_TAG_NOT_FOUND', 404, (tag) => `Tag ${tag} not found.`),
  invalidPatch: define('GLINT_INVALID_PATCH', 400, (why) => String(why)),
  invalidStatusTransition: define('GLINT_INVALID_STATUS', 403, (why) => String(why)),
  // Glance words it per operation: add, remove, update
  locationsHidden: define('GLINT_LOCATIONS_HIDDEN', 403, (verb) => `It's not allowed to ${verb ?? 'update'} locations if locations are invisible.`),
  // PATCH of /locations (glance/api/v2/images.py _do_*_locations, glance/location.py)
  locationsStatus: define('GLINT_LOCATIONS_STATUS', 409, (verb, status) => `It's not allowed to ${verb} locations if image status is ${status}.`),
  locationsEmpty: define('GLINT_LOCATIONS_EMPTY', 403, () => 'Cannot set locations to empty list.'),
  lastImageLocation: define('GLINT_LAST_IMAGE_LOCATION', 403, () => 'Cannot remove last location in the image.'),
  locationPosition: define('GLINT_LOCATION_POSITION', 400, (verb) => `Invalid position for ${verb} a location.`),
  invalidLocation: define('GLINT_INVALID_LOCATION', 400, () => 'Invalid location'),
  duplicateLocation: define('GLINT_DUPLICATE_LOCATION', 400, (url) => `The location ${url} already exists`),
  locationsChanged: define('GLINT_LOCATIONS_CHANGED', 400, (current) => `Original locations is not empty: ${current}`),
  validationConflict: define('GLINT_VALIDATION_CONFLICT', 409, (why) => String(why)),
  tooManyLocations: define('GLINT_TOO_MANY_LOCATIONS', 413, (attempted, max) => `The limit has been exceeded on the number of allowed image locations. Attempted: ${attempted}, Maximum: ${max}`),
  /** internal: another change of the image's locations or status committed first (the location layer plans again) */
  locationsMoved: define('GLINT_LOCATIONS_MOVED', 409, () => 'The image changed while its locations were updated; try again.'),
  readOnlyStore: define('GLINT_READ_ONLY_STORE', 400, (id) => `Store ${id} is read-only`),
  ownerUpdateForbidden: define('GLINT_OWNER_UPDATE_FORBIDDEN', 403, () => 'Owner can\'t be updated by non admin.'),

  // listing
  badSortKey: define('GLINT_BAD_SORT_KEY', 400, (key) => `Invalid sort key: ${key}. It must be one of the following: name, status, container_format, disk_format, size, id, created_at, updated_at.`),
  badSortDir: define('GLINT_BAD_SORT_DIR', 400, (dir) => `Invalid sort direction: ${dir}`),
  badSort: define('GLINT_BAD_SORT', 400, (why) => String(why)),
  badLimit: define('GLINT_BAD_LIMIT', 400, (why) => String(why)),
  // an invisible marker too (Glance's 403 there would reveal that the image exists)
  badMarker: define('GLINT_BAD_MARKER', 400, (id) => `No image found with ID ${id}`),
  badFilter: define('GLINT_BAD_FILTER', 400, (why) => String(why)),
  tooManyFilters: define('GLINT_TOO_MANY_FILTERS', 400, (given, max) => `Too many filters: ${given} given, at most ${max} are accepted in one request.`),

  // members (glance/api/v2/image_members.py words them per action)
  memberImageNotFound: define('GLINT_IMAGE_NOT_FOUND', 404, (id) => `Image ${id} not found.`),
  memberNotFound: define('GLINT_MEMBER_NOT_FOUND', 404, (member, image) => `${member} not found in the member list of the image ${image}.`),
  memberExists: define('GLINT_MEMBER_EXISTS', 409, (member, image) => `Member ${member} is duplicated for image ${image}`),
  membersNotShared: define('GLINT_NOT_SHARED', 403, (image) => `Not allowed to list members for image ${image}: Only shared images have members.`),
  memberNotShared: define('GLINT_NOT_SHARED', 403, (action, image) => `Not allowed to ${action} members for image ${image}.`),
  memberHiddenNotShared: define('GLINT_NOT_SHARED', 404, () => 'Only shared images have members.'),
  memberForbidden: define('GLINT_MEMBER_FORBIDDEN', 403, (action, image) => `Not allowed to ${action} members for image ${image}.`),
  badMemberBody: define('GLINT_BAD_MEMBER_BODY', 400, (why) => String(why)),
  badMemberStatus: define('GLINT_BAD_MEMBER_STATUS', 400, () => 'Incorrect request: Status must be "pending", "accepted" or "rejected".'),
  tooManyMembers: define('GLINT_TOO_MANY_MEMBERS', 413, (image, attempted, max) => `Image member limit exceeded for image ${image}: The limit has been exceeded on the number of allowed image members for this image. Attempted: ${attempted}, Maximum: ${max}:`),

  // data
  uploadConflict: define('GLINT_UPLOAD_CONFLICT', 409, (status) => `Image status transition from ${status} to saving is not allowed`),
  taskNotFound: define('GLINT_TASK_NOT_FOUND', 404, (id) => `Task with the given id ${id} was not found`),
  taskBadQuery: define('GLINT_TASK_BAD_QUERY', 400, (why) => String(why)),
  stageConflict: define('GLINT_STAGE_CONFLICT', 409, (status) => `Image status transition from ${status} to uploading is not allowed`),
  glanceDirectUnavailable: define('GLINT_IMPORT_METHOD_UNAVAILABLE', 404, () => '\'glance-direct\' method is not available at this site.'),
  formatsRequired: define('GLINT_FORMATS_REQUIRED', 400, () => 'Properties disk_format, container_format must be set prior to saving data.'),
  sizeCapExceeded: define('GLINT_IMAGE_SIZE_CAP', 413, (cap) => `Image exceeds the storage quota: The size of the data exceeds the limit of ${cap} bytes.`),
  // use_keystone_limits: glance.common.exception.LimitExceeded around oslo.limit's ProjectOverLimit
  limitExceeded: define('GLINT_LIMIT_EXCEEDED', 413, (body) => 'The request returned a 413 Request Entity Too Large. This generally means that ' +
    `rate limiting or a quota threshold was breached.\n\nThe response body:\n${body}`),
  // Keystone answered, but [oslo_limit] does not name an endpoint it knows (Glance: a 500 too)
  limitsMisconfigured: define('GLINT_LIMITS_MISCONFIGURED', 500, (why) => `The unified limits cannot be read from Keystone: ${why}`),
  storageQuotaExceeded: define('GLINT_STORAGE_QUOTA', 413, (quota) => `Denying attempt to upload image because it exceeds the quota: The size of the data exceeds the limit of ${quota} bytes.`),
  // the format inspector's verdict on uploaded content (src/domain/format-inspector.ts)
  invalidImageData: define('GLINT_INVALID_IMAGE_DATA', 400, (why) => `${why}`),
  sizeMismatch: define('GLINT_SIZE_MISMATCH', 400, (sent, declared) => `Received ${sent} bytes but Content-Length declared ${declared}.`),
  imageGone: define('GLINT_IMAGE_GONE', 410, (id) => `Image ${id} could not be found after upload. The image may have been deleted during the upload.`),
  deactivated: define('GLINT_DEACTIVATED', 403, () => 'The requested image has been deactivated. Image data download is forbidden.'),
  multipleRanges: define('GLINT_MULTIPLE_RANGES', 400, () => 'Multiple ranges are not supported.'),
  rangeNotSatisfiable: define('GLINT_RANGE_NOT_SATISFIABLE', 416, (r) => `Requested range not satisfiable: ${r}`),

  // stores
  unknownStore: define('GLINT_UNKNOWN_STORE', 400, (id) => `Store for identifier ${id} not found`),
  storeNotHolding: define('GLINT_STORE_NOT_HOLDING', 404, (image, store) => `Image ${image} is not present in store ${store}`),
  lastLocation: define('GLINT_LAST_LOCATION', 403, () => 'Cannot delete image data from the only store containing it. Consider deleting the image instead.'),
  storeUnavailable: define('GLINT_STORE_UNAVAILABLE', 503, (store, why) => `Store ${store} is unavailable: ${why}`),
  storageFull: define('GLINT_STORAGE_FULL', 413, (store) => `Image storage media is full: store ${store} has no space left.`),
  storeWriteDenied: define('GLINT_STORE_WRITE_DENIED', 503, (store) => `Insufficient permissions on image storage media: store ${store}.`),
  storeBusy: define('GLINT_STORE_BUSY', 409, (store, why) => `Image data in store ${store} is in use: ${why}`),
  storeDuplicate: define('GLINT_STORE_DUPLICATE', 409, (store) => `Image data already exists in store ${store}.`),
  storeFailed: define('GLINT_STORE_FAILED', 500, (store, why) => `Store ${store} failed: ${why}`),
  importInvalid: define('GLINT_IMPORT_INVALID', 400, (why) => String(why)),
  importConflict: define('GLINT_IMPORT_CONFLICT', 409, (why) => String(why)),
  // image cache (glance/api/v2/cached_images.py)
  cacheNotActive: define('GLINT_CACHE_NOT_ACTIVE', 400, () => 'Only images with status active can be targeted for queueing'),
  badCacheClearTarget: define('GLINT_CACHE_CLEAR_TARGET', 400, () => "If provided 'x-image-cache-clear-target' must be 'cache', 'queue' or empty string."),

  // metadata definitions (glance/api/v2/metadef_*.py and glance/common/exception.py word them)
  metadefSchemaInvalid: define('GLINT_METADEF_SCHEMA_INVALID', 400, (schema, detail) => `Provided object does not match schema '${schema}': ${detail}`),
  metadefBadDefinition: define('GLINT_METADEF_BAD_DEFINITION', 400, (name, why) => `Invalid property definition ${name}: ${why}`),
  metadefBadVisibility: define('GLINT_METADEF_BAD_VISIBILITY', 400, (value) => `Invalid visibility value: ${value}`),
  metadefBadSortKey: define('GLINT_METADEF_BAD_SORT_KEY', 400, (key) => `Invalid sort key: ${key}`),
  metadefNamespaceNotFound: define('GLINT_METADEF_NAMESPACE_NOT_FOUND', 404, (ns) => `Metadata definition namespace=${ns} was not found.`),
  // how most controllers answer for a namespace that is missing or not visible
  metadefNamespaceMissing: define('GLINT_METADEF_NAMESPACE_NOT_FOUND', 404, (ns) => `Namespace ${ns} not found`),
  // GET of a namespace the caller may not see: WebOb's bare 404
  metadefNamespaceHidden: define('GLINT_METADEF_NAMESPACE_NOT_FOUND', 404, () => 'The resource could not be found.'),
  metadefMarkerHidden: define('GLINT_METADEF_MARKER_FORBIDDEN', 403, (ns) => `Forbidding request, metadata definition namespace=${ns} is not visible.`),
  metadefNamespaceExists: define('GLINT_METADEF_NAMESPACE_EXISTS', 409, (ns) => `The metadata definition namespace=${ns} already exists.`),
  metadefNamespaceRenameExists: define('GLINT_METADEF_NAMESPACE_EXISTS', 409, (ns) => `Invalid update. It would result in a duplicate metadata definition namespace with the same name of ${ns}`),
  metadefObjectNotFound: define('GLINT_METADEF_OBJECT_NOT_FOUND', 404, (name) => `Could not find metadata object ${name}`),
  metadefObjectExists: define('GLINT_METADEF_OBJECT_EXISTS', 409, (name, ns) => `A metadata definition object with name=${name} already exists in namespace=${ns}.`),
  metadefObjectRenameExists: define('GLINT_METADEF_OBJECT_EXISTS', 409, (name, ns) => `Invalid update. It would result in a duplicate metadata definition object with the same name=${name} in namespace=${ns}.`),
  metadefPropertyNotFound: define('GLINT_METADEF_PROPERTY_NOT_FOUND', 404, (name) => `Could not find property ${name}`),
  metadefPropertyExists: define('GLINT_METADEF_PROPERTY_EXISTS', 409, (name, ns) => `A metadata definition property with name=${name} already exists in namespace=${ns}.`),
  metadefPropertyRenameExists: define('GLINT_METADEF_PROPERTY_EXISTS', 409, (name, ns) => `Invalid update. It would result in a duplicate metadata definition property with the same name=${name} in namespace=${ns}.`),
  metadefPropertyPrefix: define('GLINT_METADEF_PROPERTY_PREFIX', 404, (name, prefix) => `Property ${name} does not start with the expected resource type association prefix of '${prefix}'.`),
  metadefTagNotFound: define('GLINT_METADEF_TAG_NOT_FOUND', 404, (name) => `Could not find metadata tag ${name}`),
  metadefTagExists: define('GLINT_METADEF_TAG_EXISTS', 409, (name, ns) => `A metadata tag with name=${name} already exists in namespace=${ns}. (Please note that metadata tag names are case insensitive).`),
  metadefResourceTypeNotFound: define('GLINT_METADEF_RESOURCE_TYPE_NOT_FOUND', 404, (name) => `The metadata definition resource-type with name=${name}, was not found.`),
  metadefAssociationNotFound: define('GLINT_METADEF_ASSOCIATION_NOT_FOUND', 404, (rt, ns) => `The metadata definition resource-type association of resource-type=${rt} to namespace=${ns}, was not found.`),
  metadefAssociationMissing: define('GLINT_METADEF_ASSOCIATION_NOT_FOUND', 404, (rt) => `Failed to find resource type ${rt} to delete`),
  metadefAssociationExists: define('GLINT_METADEF_ASSOCIATION_EXISTS', 409, (rt, ns) => `The metadata definition resource-type association of resource-type=${rt} to namespace=${ns} already exists.`),
  metadefNamespaceProtected: define('GLINT_METADEF_PROTECTED', 403, (ns) => `Metadata definition namespace ${ns} is protected and cannot be deleted.`),
  metadefObjectProtected: define('GLINT_METADEF_PROTECTED', 403, (name) => `Metadata definition object ${name} is protected and cannot be deleted.`),
  metadefPropertyProtected: define('GLINT_METADEF_PROTECTED', 403, (name) => `Metadata definition property ${name} is protected and cannot be deleted.`),
  metadefTagProtected: define('GLINT_METADEF_PROTECTED', 403, (name) => `Metadata definition tag ${name} is protected and cannot be deleted.`),
  metadefAssociationProtected: define('GLINT_METADEF_PROTECTED', 403, (rt) => `Metadata definition resource-type-association ${rt} is protected and cannot be deleted.`)
}
