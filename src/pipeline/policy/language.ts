// oslo.policy's rule language, parsed once and evaluated per request:
//   role:NAME            the caller holds the role (NAME may be a %(key)s target match)
//   rule:NAME            another rule; an unknown rule is false
//   KIND:MATCH           a credential (project_id, user_id, is_admin, a.b paths...) equals MATCH,
//                        MATCH being literal or %(key)s taken from the target
//   'literal':%(key)s    a quoted literal equals the target's value
//   @  (or empty)        always;   !  never
//   not / and / or, with parentheses; `not` binds tightest, then `and`, then `or`.
// A rule that does not parse is false, as oslo.policy makes it ("Failed to understand rule").
// The legacy list form ([["a", "b"], ["c"]] = (a and b) or c) is read too.

export type Creds = Record<string, unknown>
export type Target = Record<string, unknown>
export type RuleLookup = (name: string) => Check | undefined

export type Check =
  | { type: 'true' } | { type: 'false' }
  | { type: 'not', check: Check }
  | { type: 'and', checks: Check[] } | { type: 'or', checks: Check[] }
  | { type: 'rule', name: string }
  | { type: 'role', match: string }
  | { type: 'generic', kind: string, match: string }

const TRUE: Check = { type: 'true' }
const FALSE: Check = { type: 'false' }

export function parseRule (rule: unknown): Check {
  if (Array.isArray(rule)) return parseList(rule)
  if (typeof rule !== 'string') return FALSE
  if (rule.trim() === '') return TRUE
  const tokens = tokenize(rule)
  let at = 0
  const peek = (): string | undefined => tokens[at]
  const fail = (): never => { throw new Error('unparsable') }

  function orExpr (): Check {
    const checks = [andExpr()]
    while (peek()?.toLowerCase() === 'or') { at++; checks.push(andExpr()) }
    return checks.length === 1 ? checks[0] : { type: 'or', checks }
  }
  function andExpr (): Check {
    const checks = [notExpr()]
    while (peek()?.toLowerCase() === 'and') { at++; checks.push(notExpr()) }
    return checks.length === 1 ? checks[0] : { type: 'and', checks }
  }
  function notExpr (): Check {
    if (peek()?.toLowerCase() === 'not') { at++; return { type: 'not', check: notExpr() } }
    return atom()
  }
  function atom (): Check {
    const token = tokens[at++] ?? fail()
    if (token === '(') {
      const inner = orExpr()
      if (tokens[at++] !== ')') fail()
      return inner
    }
    if (token === ')' || ['and', 'or', 'not'].includes(token.toLowerCase())) fail()
    return parseCheck(token)
  }

  try {
    const check = orExpr()
    if (at !== tokens.length) fail()
    return check
  } catch {
    return FALSE
  }
}

/** Words split on whitespace, with leading '(' and trailing ')' split off, as oslo.policy does. */
function tokenize (rule: string): string[] {
  const tokens: string[] = []
  for (const word of rule.trim().split(/\s+/)) {
    let start = 0
    let end = word.length
    while (word[start] === '(') { tokens.push('('); start++ }
    let closing = 0
    while (end > start && word[end - 1] === ')') { closing++; end-- }
    if (end > start) tokens.push(word.slice(start, end))
    for (let i = 0; i < closing; i++) tokens.push(')')
  }
  return tokens
}

function parseCheck (token: string): Check {
  if (token === '!') return FALSE
  if (token === '@') return TRUE
  const colon = token.indexOf(':')
  if (colon < 0) return FALSE
  const kind = token.slice(0, colon)
  const match = token.slice(colon + 1)
  if (kind === 'rule') return { type: 'rule', name: match }
  if (kind === 'role') return { type: 'role', match }
  return { type: 'generic', kind, match }
}

function parseList (rule: unknown[]): Check {
  if (rule.length === 0) return TRUE
  const ors = rule.map((inner) => Array.isArray(inner)
    ? { type: 'and' as const, checks: inner.map((c) => typeof c === 'string' ? parseCheck(c) : FALSE) }
    : typeof inner === 'string' ? parseCheck(inner) : FALSE)
  return ors.length === 1 ? ors[0] : { type: 'or', checks: ors }
}

/** Python's str() of a value, which is what `%(key)s` and oslo.policy's comparisons see. */
function pyStr (value: unknown): string {
  if (value === null || value === undefined) return 'None'
  if (value === true) return 'True'
  if (value === false) return 'False'
  return String(value)
}

/** `%(key)s` from the target; undefined when a key is missing (the check is then false). */
function interpolate (match: string, target: Target): string | undefined {
  let missing = false
  const out = match.replace(/%\(([^)]*)\)s|%%/g, (whole, key: string | undefined) => {
    if (whole === '%%') return '%'
    if (!(key! in target)) { missing = true; return '' }
    return pyStr(target[key!])
  })
  return missing ? undefined : out
}

function literal (kind: string): string | undefined {
  const quoted = /^'(.*)'$|^"(.*)"$/.exec(kind)
  if (quoted !== null) return quoted[1] ?? quoted[2]
  if (/^-?\d+(\.\d+)?$/.test(kind)) return kind
  if (kind === 'True' || kind === 'False' || kind === 'None') return kind
  return undefined
}

function findIn (value: unknown, path: string[], match: string): boolean {
  if (path.length === 0) return pyStr(value) === match
  if (value === null || typeof value !== 'object' || path[0] === '' || !(path[0] in value)) return false
  const next = (value as Record<string, unknown>)[path[0]]
  if (Array.isArray(next)) return next.some((v) => findIn(v, path.slice(1), match))
  return findIn(next, path.slice(1), match)
}

export function evaluate (check: Check, target: Target, creds: Creds, rules: RuleLookup, depth = 0): boolean {
  // A rule that refers to itself (directly or not) is false rather than a stack overflow.
  if (depth > 50) return false
  switch (check.type) {
    case 'true': return true
    case 'false': return false
    case 'not': return !evaluate(check.check, target, creds, rules, depth)
    case 'and': return check.checks.every((c) => evaluate(c, target, creds, rules, depth))
    case 'or': return check.checks.some((c) => evaluate(c, target, creds, rules, depth))
    case 'rule': {
      const rule = rules(check.name)
      return rule !== undefined && evaluate(rule, target, creds, rules, depth + 1)
    }
    case 'role': {
      const match = interpolate(check.match, target)
      const roles = creds.roles
      return match !== undefined && Array.isArray(roles) && roles.some((r) => String(r).toLowerCase() === match.toLowerCase())
    }
    case 'generic': {
      const match = interpolate(check.match, target)
      if (match === undefined) return false
      const value = literal(check.kind)
      if (value !== undefined) return value === match
      return findIn(creds, check.kind.split('.'), match)
    }
  }
}
