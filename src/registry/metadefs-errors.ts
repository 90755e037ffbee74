// PostgreSQL's unique_violation: a name that is already taken within its scope.

export function isUniqueViolation (err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === '23505'
}
