/**
 * Refuses a state-changing request while the data root has no room to record its outcome: a full
 * disk then answers a clean 500 with Docker's error shape before any step is taken, instead of
 * failing half way (a bridge deleted but the network still recorded, a container killed but still
 * listed as running) when SQLite or a container file cannot be written.
 *
 * Use: `router.changeGuard = spaceGuard(() => freeBytes(dataRoot), dataRoot)`; the server calls it
 * for every matched request before the handler.
 * Beware: requests that record nothing (wait, attach, resize, exec start) pass, and reads (GET,
 * HEAD); so do kill and stop, whose only record before the signal (the "stopped by hand" flag)
 * is logged and skipped when it cannot be written, and removals, which free space and record into
 * room kept for them (the SQLite room of store/room.ts, the image index's spare file). The check is
 * a snapshot: an operation that runs out of space half way still relies on its own rollback.
 */
import { internal } from '../util/index.js';

/** Below this much free space a change is refused (a few SQLite pages and container files need far less). */
export const MIN_FREE_BYTES = 1024 * 1024;

/** POST routes that write no state (path without the version prefix). */
const RECORD_NOTHING = [
  /^\/containers\/[^/]+\/(wait|attach|resize)$/,
  /^\/exec\/[^/]+\/(start|resize)$/,
  /^\/auth$/,
  /^\/session$/,
  /^\/grpc$/,
];

/**
 * Operations that end or remove something: a full disk is when they are needed most (stop the
 * container that fills it, remove what takes the space), as with dockerd. Decided by operation, not
 * by method: `POST .../kill` passes, `POST .../start` does not.
 */
const FREE_OR_END: ReadonlyArray<readonly [string, RegExp]> = [
  ['POST', /^\/containers\/[^/]+\/(kill|stop)$/],
  ['DELETE', /^\/(containers|images|networks|volumes)\/.+$/],
  ['POST', /^\/(containers|images|networks|volumes|build)\/prune$/],
  ['POST', /^\/networks\/[^/]+\/disconnect$/],
];

export function changesState(method: string, path: string): boolean {
  if (method === 'GET' || method === 'HEAD' || method === 'OPTIONS') return false;
  return !RECORD_NOTHING.some((re) => re.test(path));
}

/** True for a request the guard lets through on a full disk (reads, no-record posts, kill, stop, removals). */
export function passesWhenFull(method: string, path: string): boolean {
  return !changesState(method, path) || FREE_OR_END.some(([m, re]) => m === method && re.test(path));
}

export function spaceGuard(free: () => Promise<number>, dataRoot: string): (method: string, path: string) => Promise<void> {
  return async (method, path) => {
    if (passesWhenFull(method, path)) return;
    const bytes = await free();
    if (bytes >= MIN_FREE_BYTES) return;
    throw internal('system.no_space', `no space left on device: ${dataRoot} has ${bytes} bytes free, redes needs ${MIN_FREE_BYTES} to record a change`);
  };
}
