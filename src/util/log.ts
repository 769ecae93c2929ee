/**
 * Structured logging for the daemon and the CLI (pino, JSON lines on stderr).
 * Use `logger.child({ component })` per module; the level comes from `--log-level` / `--debug`.
 *
 * Beware: a pino child keeps the level it was made with, and modules make theirs at import time,
 * before the daemon has parsed its flags; so every child is remembered and `setLogLevel` sets all.
 */
import { pino, destination, type Logger } from 'pino';

export type { Logger };

const children = new Set<Logger>();

export const logger: Logger = pino(
  {
    name: 'redes',
    level: process.env.REDES_LOG_LEVEL ?? 'info',
    base: { pid: process.pid },
    onChild: (child) => {
      children.add(child);
    },
  },
  destination(2),
);

export function setLogLevel(level: string): void {
  logger.level = level;
  for (const c of children) c.level = level;
}

/**
 * At debug level, logs that the daemon's start stage `name` just ended, in ms since the process
 * started (`daemon start stage`; bench/restart.ts reads them to break a restart down).
 */
export function startStage(log: Logger, name: string): void {
  if (log.isLevelEnabled('debug')) log.debug({ stage: name, ms: Math.round(performance.now()) }, 'daemon start stage');
}

/** Marks the end of each phase of one operation; `done` logs them all at debug level. */
export interface PhaseClock {
  (phase: string): void;
  /** Logs `{ id, ms: { phase: cumulative ms } }` with `msg` (debug level). */
  done(msg: string, id: string): void;
}

/**
 * Phase timings of one operation (a network create, say), cumulative ms since the clock was made,
 * logged at debug level for the benchmarks (container start, network create and rm).
 */
export function phaseClock(log: Logger): PhaseClock {
  const t0 = process.hrtime.bigint();
  const ms: Record<string, number> = {};
  const mark = (phase: string): void => {
    ms[phase] = Math.round(Number(process.hrtime.bigint() - t0) / 1e5) / 10;
  };
  return Object.assign(mark, { done: (msg: string, id: string): void => void (log.isLevelEnabled('debug') && log.debug({ id, ms }, msg)) });
}
