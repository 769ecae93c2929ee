/**
 * Named failpoints for crash-only fault tests: `failpoint('container.start.after-plug')` between two
 * steps of an operation kills the daemon with SIGKILL right there when the environment variable
 * REDES_FAILPOINT names it, so a test can check that a restart finishes or undoes the operation.
 *
 * Use: `REDES_FAILPOINT=network.create.after-record redesd ...`; the names are listed in FAILPOINTS.
 * Beware: off (the normal case) a failpoint is one comparison with a constant read at start; the
 * variable is read once, so it must be set before the daemon starts.
 */
import { logger } from './log.js';

/** Every failpoint in the code (a test walks this list). */
export const FAILPOINTS = [
  'network.create.after-record',
  'network.create.after-driver',
  'network.rm.after-driver',
  'container.create.after-dir',
  'container.start.after-plug',
  'container.start.after-create',
  'container.start.after-start',
  'container.exit.after-delete',
  'container.rm.after-unmount',
  'connect.after-join',
  'disconnect.after-leave',
  'ports.publish.after-rules',
  'dns.register.after-attach',
] as const;

export type Failpoint = (typeof FAILPOINTS)[number];

const armed = process.env.REDES_FAILPOINT;

export function failpoint(name: Failpoint): void {
  if (armed === undefined || armed !== name) return;
  logger.warn({ failpoint: name }, 'failpoint reached: killing the daemon');
  logger.flush?.();
  process.kill(process.pid, 'SIGKILL');
}
