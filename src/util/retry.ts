/**
 * Work that must eventually happen, in the background: `fn` is run again after each failure,
 * 1 s then doubling up to 30 s, until it succeeds. Each failure is logged; none escapes.
 *
 * Use: `retryInBackground('recording the container exit', () => onExit(id, st))` where the work
 * can fail for a while (a full disk failing SQLite writes) and every step of it may run again.
 * Beware: nothing stops the retries but success; `fn` must be idempotent. Timers do not keep the
 * process alive.
 */
import { logger } from './log.js';

export function retryInBackground(what: string, fn: () => Promise<void>, attempt = 0): void {
  fn().catch((e: unknown) => {
    const retryMs = Math.min(30_000, 1000 * 2 ** attempt);
    logger.error({ err: e, retryMs }, `${what} failed: trying again`);
    setTimeout(() => retryInBackground(what, fn, attempt + 1), retryMs).unref();
  });
}
