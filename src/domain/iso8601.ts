// ISO 8601 date-times as Glance's list filters accept them (the `iso8601` Python package
// behind glance.common.timeutils.parse_isotime): "2024", "2024-05", "2024-05-06",
// "2024-05-06T07:08", "20240506T070809.5+02:00"... A time without a zone is UTC.

const ISO8601 = new RegExp(
  '^(\\d{4})' +
  '(?:(?:-(\\d{1,2})|(\\d{2})(?!$))' + // month; YYYYMM alone is not allowed
  '(?:(?:-(\\d{1,2})|(\\d{2}))' + // day
  '(?:[ T](\\d{2})(?::?(\\d{2}))?(?::?(\\d{1,2})(?:[.,](\\d+))?)?' + // time
  '(Z|([-+])(\\d{2}):?(\\d{2})?)?' + // zone
  ')?)?)?$')

/** The instant `text` names, or undefined when it is not an ISO 8601 date-time. */
export function parseIsoTime (text: string): Date | undefined {
  const m = ISO8601.exec(text)
  if (m === null) return undefined
  const num = (s: string | undefined, fallback: number): number => s === undefined ? fallback : Number(s)
  const year = Number(m[1])
  const month = num(m[2] ?? m[3], 1)
  const day = num(m[4] ?? m[5], 1)
  const hour = num(m[6], 0)
  const minute = num(m[7], 0)
  const second = num(m[8], 0)
  const ms = m[9] === undefined ? 0 : Math.floor(Number(`0.${m[9]}`) * 1000)
  if (year < 1 || month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return undefined
  const at = new Date(0)
  at.setUTCFullYear(year, month - 1, day) // not Date.UTC: it maps years 0-99 onto 1900-1999
  at.setUTCHours(hour, minute, second, ms)
  // 31 February rolls over into March here; Python's datetime refuses it.
  if (at.getUTCDate() !== day) return undefined
  const local = at.getTime()
  let offsetMinutes = 0
  if (m[10] !== undefined && m[10] !== 'Z') {
    const tzHour = Number(m[12])
    const tzMinute = num(m[13], 0)
    if (tzHour > 23 || tzMinute > 59) return undefined
    offsetMinutes = (m[11] === '-' ? -1 : 1) * (tzHour * 60 + tzMinute)
  }
  return new Date(local - offsetMinutes * 60_000)
}
