// The API's timestamps. Stored as integer milliseconds since the epoch (UTC); rendered as RFC 3339 UTC
// with milliseconds (`2021-07-08T09:15:00.000Z`). Input is accepted only when it names an instant that
// is stored exactly and renders back in that form: RFC 3339 (an offset is fine), no leap second (`:60`,
// which Date cannot represent), nothing finer than a millisecond (it would be rounded), and a year from
// 0001 to 9999 in UTC (year 0 is not a year of the Gregorian calendar RFC 3339 uses, and year 10000 has
// no four-digit form). Validation (src/http/validation.ts) and the code that stores use the same parser.

const DAY = 86_400_000
// Each day's `YYYY-MM-DDT`, from Date itself; bounded (a list's timestamps fall on few days).
const days = new Map<number, string>()
const two = (n: number): string => n < 10 ? `0${n}` : `${n}`
const three = (n: number): string => n < 10 ? `00${n}` : n < 100 ? `0${n}` : `${n}`

/**
 * Milliseconds since the epoch as the API's RFC 3339 UTC form with milliseconds: what `toISOString()`
 * gives for the years the API stores (0001–9999), at a sixth of its cost. The date part is Date's own,
 * kept per day; the time of day is arithmetic. A page of 100 comments renders 200 of these
 * (bench/README.md, "Page statements on the driver"); test/http/timestamps.test.ts compares the two.
 */
export function toIso (ms: number): string {
  const day = Math.floor(ms / DAY)
  let date = days.get(day)
  if (date === undefined) {
    if (days.size >= 4096) days.clear()
    date = new Date(day * DAY).toISOString().slice(0, 11)
    days.set(day, date)
  }
  let rest = ms - day * DAY
  const hours = Math.floor(rest / 3_600_000)
  rest -= hours * 3_600_000
  const minutes = Math.floor(rest / 60_000)
  rest -= minutes * 60_000
  const seconds = Math.floor(rest / 1000)
  return `${date}${two(hours)}:${two(minutes)}:${two(seconds)}.${three(rest - seconds * 1000)}Z`
}

export const toIsoOrNull = (ms: number | null): string | null => (ms === null ? null : toIso(ms))

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:[Zz]|([+-])(\d{2}):(\d{2}))$/

/** The instant an RFC 3339 timestamp names, in ms, or undefined when the API cannot store it exactly. */
export function parseTimestamp (text: string): number | undefined {
  const m = RFC3339.exec(text)
  if (m === null) return undefined
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number]
  const fraction = m[7] ?? ''
  const offsetMinutes = m[8] === undefined ? 0 : (m[8] === '-' ? -1 : 1) * (Number(m[9]) * 60 + Number(m[10]))
  if (hour > 23 || minute > 59 || second > 59 || Number(m[9] ?? 0) > 23 || Number(m[10] ?? 0) > 59) return undefined
  if (/[1-9]/.test(fraction.slice(3))) return undefined
  // setUTCFullYear, not Date.UTC: the latter reads years 0–99 as 1900–1999.
  const date = new Date(0)
  date.setUTCFullYear(year, month - 1, day)
  if (date.getUTCFullYear() !== year || date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day) return undefined
  date.setUTCHours(hour, minute, second, Number(fraction.slice(0, 3).padEnd(3, '0')))
  const ms = date.getTime() - offsetMinutes * 60_000
  const utcYear = new Date(ms).getUTCFullYear()
  return utcYear >= 1 && utcYear <= 9999 ? ms : undefined
}

/** A timestamp from the API into milliseconds; the schema has already checked that it can be stored. */
export function fromIso (iso: string): number {
  const ms = parseTimestamp(iso)
  if (ms === undefined) throw new TypeError(`not a storable timestamp: ${iso}`)
  return ms
}

/** What a refused timestamp is told. */
export const TIMESTAMP_RULE = 'must be an RFC 3339 timestamp the server can store exactly: a year from 0001 to 9999 (in UTC), no leap second, at most millisecond precision'
