/**
 * Named failpoints for crash-only fault tests: `failpoint('container.start.after-plug')` between two
 * steps of an operation kills the daemon with SIGKILL right there when it is armed, so a test can
 * check that a restart finishes or undoes the operation.
 *
 * Use: `REDES_FAILPOINT=network.create.after-record redesd ...` arms one failpoint for the daemon's
 * whole life; `REDES_FAILPOINT_FILE=PATH redesd ...` arms the failpoint named in that file at the
 * moment it is reached (write the name, drive the operation; an empty or missing file arms none),
 * so one daemon start serves a setup done unarmed and then the crash. The names are in FAILPOINTS.
 * Beware: off (the normal case) a failpoint is one comparison with constants read at start; both
 * variables are read once, so they must be set before the daemon starts. With a file, each
 * failpoint reached reads it (a test-only cost).
 */
import { readFileSync } from 'node:fs';
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
const armFile = process.env.REDES_FAILPOINT_FILE;

/** The failpoint named in `path` now ('' when the file is missing or unreadable). */
export function armedInFile(path: string): string {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return '';
  }
}

export function failpoint(name: Failpoint): void {
  if (armed === undefined && armFile === undefined) return;
  if (armed !== name && (armFile === undefined || armedInFile(armFile) !== name)) return;
  logger.warn({ failpoint: name }, 'failpoint reached: killing the daemon');
  logger.flush?.();
  process.kill(process.pid, 'SIGKILL');
}
