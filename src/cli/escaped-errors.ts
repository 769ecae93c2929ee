/**
 * The daemon's last line of defence: an error that escaped every request and task (a promise
 * rejected with nobody listening, an exception thrown from an event callback) is logged with its
 * stack and the daemon goes on serving, instead of Node's default of exiting.
 *
 * Use: `installEscapedErrorHandlers()` once at daemon start.
 * Beware: each such log line (msg `ESCAPED_ERROR_MSG`) is a defect: request paths must end in their
 * own response or stream; the e2e harness fails any test whose daemon log holds one.
 */
import { logger } from '../util/index.js';

export const ESCAPED_ERROR_MSG = 'escaped error';

const log = logger.child({ component: 'daemon' });

export function installEscapedErrorHandlers(): void {
  process.on('unhandledRejection', (reason: unknown) => {
    log.error({ err: reason, escaped: 'unhandledRejection' }, ESCAPED_ERROR_MSG);
  });
  process.on('uncaughtException', (e: Error, origin: string) => {
    log.error({ err: e, escaped: origin }, ESCAPED_ERROR_MSG);
  });
}
