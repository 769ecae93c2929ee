/**
 * Restart policies in motion: after an exit, the policy's decision and Docker's back-off timer
 * (restart-policy.ts decides, this keeps the timers); a user's stop or start cancels what is pending.
 *
 * Use: the controller calls `starting` at every start by the user (never at the policy's own, so a
 * stop that lands during one still counts), `stopping` at `docker stop` and `rm -f`, `afterExit`
 * under the container's lock when its program ended, and `cancel` when a start or a stop by the user
 * makes a pending restart moot; the timer calls the controller's `restart(id)`.
 * Beware: a container being stopped by the user is not restarted by the exit that follows.
 */
import type { ContainerRecord } from './container-types.js';
import { RestartBackoff, timeMs } from './restart-policy.js';

export class RestartTimers {
  private readonly backoff = new RestartBackoff();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  /** Containers being stopped by the user: their exit is not a reason to restart. */
  private readonly noRestart = new Set<string>();

  constructor(
    private readonly save: (rec: ContainerRecord) => void,
    private readonly restart: (id: string) => void,
  ) {}

  starting(id: string): void {
    this.noRestart.delete(id);
  }

  stopping(id: string): void {
    this.noRestart.add(id);
  }

  /** A stop or rm -f asked since the user's last start: a restart by the policy must not run. */
  stopAsked(id: string): boolean {
    return this.noRestart.has(id);
  }

  /** A restart of `id` is waiting for its timer. */
  pending(id: string): boolean {
    return this.timers.has(id);
  }

  /** The timer of `id` fired (its restart runs now). */
  fired(id: string): void {
    this.timers.delete(id);
  }

  /** Drops a pending restart; a `restarting` container becomes `exited`. Under the container's lock. */
  cancel(rec: ContainerRecord): void {
    const t = this.timers.get(rec.id);
    if (t) clearTimeout(t);
    this.timers.delete(rec.id);
    this.backoff.forget(rec.id);
    if (rec.state.status === 'restarting') {
      rec.state = { ...rec.state, status: 'exited' };
      this.save(rec);
    }
  }

  /** The container is gone: nothing of it is kept. */
  removed(id: string): void {
    const t = this.timers.get(id);
    if (t) clearTimeout(t);
    this.timers.delete(id);
    this.backoff.forget(id);
    this.noRestart.delete(id);
  }

  /** After an exit: the policy's decision, and the timer of Docker's back-off. Under the container's lock. */
  afterExit(rec: ContainerRecord): void {
    if (this.noRestart.has(rec.id)) return;
    const ran = Math.max(0, timeMs(rec.state.finishedAt) - timeMs(rec.state.startedAt));
    const delay = this.backoff.afterExit(rec, ran);
    if (delay === undefined) return;
    rec.state = { ...rec.state, status: 'restarting' };
    this.save(rec);
    this.timers.set(rec.id, setTimeout(() => this.restart(rec.id), delay));
  }
}
