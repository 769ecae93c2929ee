/**
 * Work that must eventually happen, in the background: `fn` is run again after each failure,
 * 1 s then doubling up to 30 s, until it succeeds. Each failure is logged; none escapes.
 *
 * Use: `retryInBackground('recording the container exit', () => onExit(id, st))` where the work
 * can fail for a while (a full disk failing SQLite writes) and every step of it may run again.
 * Beware: nothing stops the retries but success; `fn` must be idempotent. Timers do not keep the
 * process alive.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { logger } from './log.js';

export function retryInBackground(what: string, fn: () => Promise<void>, attempt = 0): void {
  fn().catch((e: unknown) => {
    const retryMs = Math.min(30_000, 1000 * 2 ** attempt);
    logger.error({ err: e, retryMs }, `${what} failed: trying again`);
    setTimeout(() => retryInBackground(what, fn, attempt + 1), retryMs).unref();
  });
}

/**
 * Whether `probe` answers true within `withinMs`, asked at most once a second (a probe that fails at
 * once, e.g. "network unreachable", is not repeated in a tight loop). The last try starts before the
 * deadline; its own timeout bounds how far past it the answer may come. The tests' positive
 * reachability checks use it (test/helpers/reach.ts says why one probe is no verdict).
 */
export async function answersWithin(probe: () => Promise<boolean>, withinMs = 10_000): Promise<boolean> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    const started = Date.now();
    if (await probe()) return true;
    const next = Math.max(started + 1000, Date.now());
    if (next >= deadline) return false;
    await sleep(next - Date.now());
  }
}
