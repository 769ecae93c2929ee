/** Timestamps in Docker's form: RFC 3339 with nanoseconds (Go's time.RFC3339Nano, UTC). */

/** Now, as `2026-11-27T22:53:28.123456789Z`. */
export function nowRfc3339Nano(): string {
  const ms = Date.now();
  const ns = process.hrtime.bigint() % 1_000_000n;
  const iso = new Date(ms).toISOString(); // 2026-11-27T22:53:28.123Z
  return `${iso.slice(0, 23)}${ns.toString().padStart(6, '0')}Z`;
}

/** Seconds since the epoch of an RFC 3339 timestamp (for `until` filters). */
export function rfc3339ToSeconds(value: string): number {
  return Date.parse(value) / 1000;
}

/** Go's zero time, which Docker prints for "never". */
export const ZERO_TIME = '0001-01-01T00:00:00Z';

/** A wait that never keeps the process alive on its own (a stop racing an exit may leave it pending). */
export const unrefSleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms).unref());
