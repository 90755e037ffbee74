// glance-api.conf as oslo.config reads it (oslo_config/iniparser.py and cfg.ConfigParser), so
// that every value means in Glint what it means in Glance: `=` or `:` separates key and value,
// surrounding quotes are removed, indented lines continue the previous value (joined with a
// newline), `#` and `;` start a comment only at the start of a line (a password may hold
// either), a later assignment replaces an earlier one, and section names other than DEFAULT
// are case-insensitive. The `ini` package differs on most of these.

export interface ParsedConfig {
  /** section -> key -> value; null-prototype objects (keys come from the file) */
  sections: Record<string, Record<string, string>>
  /** section -> key -> the line its (last) assignment starts on */
  lines: Record<string, Record<string, number>>
}

export class IniSyntaxError extends Error {
  constructor (readonly line: number, message: string, readonly text: string) {
    super(`line ${line}: ${message}: ${text}`)
  }
}

export function parseOsloIni (text: string): ParsedConfig {
  const sections: ParsedConfig['sections'] = Object.create(null)
  const lines: ParsedConfig['lines'] = Object.create(null)
  let section: string | undefined
  let pending: { key: string, parts: string[], line: number } | undefined

  const flush = (): void => {
    if (pending === undefined) return
    sections[section!][pending.key] = pending.parts.join('\n')
    lines[section!][pending.key] = pending.line
    pending = undefined
  }

  const all = text.split(/\r?\n/)
  for (let i = 0; i < all.length; i++) {
    const raw = all[i].trimEnd()
    const at = i + 1
    if (raw === '') { flush(); continue }
    if (raw.startsWith(' ') || raw.startsWith('\t')) {
      if (pending === undefined) throw new IniSyntaxError(at, 'Unexpected continuation line', raw)
      pending.parts.push(raw.trimStart())
      continue
    }
    flush()
    if (raw.startsWith('[')) {
      if (!raw.endsWith(']')) throw new IniSyntaxError(at, 'Invalid section (must end with ])', raw)
      if (raw.length <= 2) throw new IniSyntaxError(at, 'Empty section name', raw)
      const name = raw.slice(1, -1)
      section = name === 'DEFAULT' ? name : name.toLowerCase()
      sections[section] ??= Object.create(null)
      lines[section] ??= Object.create(null)
      continue
    }
    if (raw.startsWith('#') || raw.startsWith(';')) continue
    const colon = raw.indexOf(':')
    const equal = raw.indexOf('=')
    if (colon < 0 && equal < 0) throw new IniSyntaxError(at, "No ':' or '=' found in assignment", raw)
    const split = colon < 0 || (equal >= 0 && equal < colon) ? equal : colon
    const key = raw.slice(0, split).trim()
    let value = raw.slice(split + 1).trim()
    if (value.length >= 2 && value[0] === value[value.length - 1] && (value[0] === '"' || value[0] === "'")) value = value.slice(1, -1)
    if (key === '') throw new IniSyntaxError(at, 'Key cannot be empty', raw)
    if (section === undefined) throw new IniSyntaxError(at, 'Section must be started before assignment', raw)
    pending = { key, parts: [value], line: at }
  }
  flush()
  return { sections, lines }
}
