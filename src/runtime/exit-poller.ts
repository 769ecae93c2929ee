/**
 * One timer for every container whose exit is awaited: the safety net behind the `exit` file's
 * inotify watch (a missed event, or a shim killed before it could write `exit`).
 *
 * Why shared and bounded: with one 1 s interval per container, each doing a dozen synchronous
 * file and /proc reads, 800 running containers meant about 12,000 blocking syscalls a second on
 * the daemon's only thread; under load that stalled the event loop for seconds (a child's stdin
 * was closed 3 s late) and made each new container slower than the one before. Here one tick
 * checks at most CHECKS_PER_TICK containers, round robin, so up to that many containers are still
 * checked every second as before, and beyond it each is checked every N / CHECKS_PER_TICK seconds.
 *
 * Use: `const stop = pollForExit(check)`; call `stop()` once the exit is known.
 * Beware: a check must be cheap: it runs on the daemon's thread, up to CHECKS_PER_TICK a second.
 */

const TICK_MS = 1000;
const CHECKS_PER_TICK = 200;

/** Insertion order is the round robin: a check moves to the end each time it runs. */
const checks = new Set<() => void>();
let timer: NodeJS.Timeout | undefined;

function tick(): void {
  const due: Array<() => void> = [];
  for (const check of checks) {
    if (due.length >= CHECKS_PER_TICK) break;
    due.push(check);
  }
  for (const check of due) {
    if (!checks.delete(check)) continue; // stopped by an earlier check of this tick
    checks.add(check);
    try {
      check();
    } catch {
      // one container's unreadable state must not stop the checks of the others
    }
  }
}

export function pollForExit(check: () => void): () => void {
  checks.add(check);
  timer ??= setInterval(tick, TICK_MS);
  return () => {
    checks.delete(check);
    if (checks.size === 0 && timer) {
      clearInterval(timer);
      timer = undefined;
    }
  };
}

/** How many checks are registered (for tests). */
export function pollingCount(): number {
  return checks.size;
}
