/**
 * Structured logging for the daemon and the CLI (pino, JSON lines on stderr).
 * Use `logger.child({ component })` per module; the level comes from `--log-level` / `--debug`.
 */
import { pino, destination, type Logger } from 'pino';

export type { Logger };

export const logger: Logger = pino(
  { name: 'redes', level: process.env.REDES_LOG_LEVEL ?? 'info', base: { pid: process.pid } },
  destination(2),
);

export function setLogLevel(level: string): void {
  logger.level = level;
}
