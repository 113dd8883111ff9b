/** Milliseconds since the epoch as the API's RFC 3339 UTC form with milliseconds. */
export const toIso = (ms: number): string => new Date(ms).toISOString()

export const toIsoOrNull = (ms: number | null): string | null => (ms === null ? null : toIso(ms))

/** An RFC 3339 string from the API into milliseconds (the schema has already checked its form). */
export const fromIso = (iso: string): number => Date.parse(iso)
