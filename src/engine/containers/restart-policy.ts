/**
 * Restart policies (`--restart no|always|unless-stopped|on-failure[:N]`) as dockerd executes them:
 * the decision after an exit, Docker's back-off between restarts (100 ms doubling up to 1 min, back
 * to the start after a run of 10 s or more), and which containers a starting daemon brings back.
 *
 * Use: `checkRestartPolicy(hostConfig)` at create/update; the controller asks
 * `RestartBackoff.afterExit(rec, ranMs)` when a container exits and `startsWithDaemon(rec)` at init.
 * Beware: `docker stop` cancels a pending restart and sets `manuallyStopped` (which keeps an
 * unless-stopped container down, also across daemon restarts); `docker kill` sets it too but does not
 * cancel, so `always` still restarts a killed container, as in Docker.
 */
import { invalidParameter } from '../../util/index.js';
import type { ContainerRecord } from './container-types.js';

export interface RestartPolicy {
  name: 'no' | 'always' | 'unless-stopped' | 'on-failure';
  max: number;
}

const NAMES = ['no', 'always', 'unless-stopped', 'on-failure'];

export function policyOf(hc: Record<string, unknown>): RestartPolicy {
  const p = (hc.RestartPolicy ?? {}) as { Name?: unknown; MaximumRetryCount?: unknown };
  const name = typeof p.Name === 'string' && p.Name ? p.Name : 'no';
  const max = typeof p.MaximumRetryCount === 'number' ? p.MaximumRetryCount : 0;
  return { name: name as RestartPolicy['name'], max };
}

/** Docker's validation texts (daemon and container/hostconfig). */
export function checkRestartPolicy(hc: Record<string, unknown>): void {
  const p = policyOf(hc);
  if (!NAMES.includes(p.name)) {
    throw invalidParameter('restart.policy', `invalid restart policy: unknown policy '${p.name}'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'`);
  }
  if (p.max < 0) throw invalidParameter('restart.max', 'invalid restart policy: maximum retry count cannot be negative');
  if (p.max > 0 && p.name !== 'on-failure') {
    throw invalidParameter('restart.max', `invalid restart policy: maximum retry count can only be used with 'on-failure'`);
  }
  if (p.name !== 'no' && hc.AutoRemove === true) {
    throw invalidParameter('restart.autoremove', "can't create 'AutoRemove' container with restart policy");
  }
}

/** After an exit the daemon did not ask for: does the policy restart it? */
export function shouldRestart(rec: ContainerRecord): boolean {
  const p = policyOf(rec.hostConfig);
  switch (p.name) {
    case 'always':
      return true;
    case 'unless-stopped':
      return rec.state.manuallyStopped !== true;
    case 'on-failure':
      return rec.state.exitCode !== 0 && (p.max === 0 || rec.restartCount < p.max);
    default:
      return false;
  }
}

/** A starting daemon starts the stopped containers whose policy says so (dockerd's ShouldRestart). */
export function startsWithDaemon(rec: ContainerRecord): boolean {
  const p = policyOf(rec.hostConfig);
  if (p.name === 'always') return true;
  if (p.name === 'unless-stopped') return rec.state.manuallyStopped !== true;
  if (p.name === 'on-failure') return rec.state.exitCode !== 0 && rec.state.manuallyStopped !== true && (p.max === 0 || rec.restartCount < p.max);
  return false;
}

const FIRST_DELAY_MS = 100;
const MAX_DELAY_MS = 60_000;
const GOOD_RUN_MS = 10_000;

/** Per-container back-off, in memory as in dockerd (a daemon restart starts from 100 ms again). */
export class RestartBackoff {
  private readonly delays = new Map<string, number>();

  /** The delay before restarting `rec` after an exit, or undefined when the policy does not restart it. */
  afterExit(rec: ContainerRecord, ranMs: number): number | undefined {
    if (!shouldRestart(rec)) {
      this.delays.delete(rec.id);
      return undefined;
    }
    const last = ranMs >= GOOD_RUN_MS ? 0 : (this.delays.get(rec.id) ?? 0);
    const next = last === 0 ? FIRST_DELAY_MS : Math.min(last * 2, MAX_DELAY_MS);
    this.delays.set(rec.id, next);
    return next;
  }

  forget(id: string): void {
    this.delays.delete(id);
  }
}

/** Milliseconds of an RFC 3339 time with any fraction (Date.parse takes at most milliseconds); 0 if unset. */
export function timeMs(t: string): number {
  const ms = Date.parse(t.replace(/(\.\d{3})\d+/, '$1'));
  return Number.isNaN(ms) || t.startsWith('0001-') ? 0 : ms;
}
