/**
 * Ending a container's program as dockerd does: `docker stop` (its signal, the timeout, then
 * SIGKILL), `docker kill`, and the kill of `docker rm -f`; each tells the restart policy, so that
 * it does not undo what the user asked.
 *
 * Use: the controller owns one `ContainerStopper` and delegates stop, kill and rm -f's kill to it;
 * the exit handler (the controller's) then releases the network and emits `die`.
 * Beware: a `restarting` container may have a start by the policy in flight, holding the
 * container's lock: stop and rm -f wait for it under that lock, then end what it started (a restart
 * still waiting for its timer is cancelled instead). A policy start never clears their marks.
 */
import type { ContainerRuntimeOps } from '../../host/index.js';
import { conflict, logger, unrefSleep as sleep } from '../../util/index.js';
import type { RestartTimers } from './container-restarts.js';
import type { ExitNotices } from './container-events.js';
import type { ContainerRecord } from './container-types.js';
import { parseSignal, signalNumber } from './signals.js';

const log = logger.child({ component: 'containers' });

export interface StopContext {
  /** Runs `fn` under the container's lock. */
  locked<T>(id: string, fn: () => Promise<T>): Promise<T>;
  mustGet(id: string): ContainerRecord;
  get(id: string): ContainerRecord | undefined;
  /** Saves a record (its own transaction). */
  put(rec: ContainerRecord): void;
  restarts: RestartTimers;
  exits: ExitNotices;
  runtime: Pick<ContainerRuntimeOps, 'signal' | 'pause'>;
  emitEvent(rec: ContainerRecord, action: string, extra?: Record<string, string>): void;
}

export class ContainerStopper {
  constructor(private readonly ctx: StopContext) {}

  /** `docker stop`: false when it was not running (Docker's 304). */
  async stop(rec0: ContainerRecord, opts: { signal?: string; timeout?: number }): Promise<boolean> {
    const { ctx } = this;
    const marks = (id: string): void => (ctx.restarts.stopping(id), this.markStopped(id));
    let rec = rec0;
    let exited = rec.state.status === 'running' ? ctx.exits.next(rec.id) : undefined;
    if (!exited && rec.state.status !== 'restarting') {
      // As dockerd, whose stop reads the state under the lock a start holds: a stop that arrives
      // during `docker start` waits for it and stops what it ran. Nothing to stop changes nothing.
      [rec, exited] = await ctx.locked(rec.id, async () => {
        const cur = ctx.mustGet(rec0.id);
        return [cur, cur.state.status === 'running' ? ctx.exits.next(cur.id) : undefined] as const;
      });
      if (!exited && rec.state.status !== 'restarting') return false;
    }
    marks(rec.id);
    if (rec.state.status === 'restarting') {
      // A start by the policy may hold the lock: after it, cancel a pending restart or stop the run.
      [rec, exited] = await ctx.locked(rec.id, async () => {
        const cur = ctx.mustGet(rec0.id);
        ctx.restarts.cancel(cur);
        return cur.state.status === 'running' ? (marks(cur.id), [cur, ctx.exits.next(cur.id)]) : [cur, undefined];
      });
      if (!exited) return true;
    }
    if (!exited) return false;
    const signal = opts.signal || (rec.config.StopSignal as string | undefined) || 'SIGTERM';
    const timeout = opts.timeout ?? (typeof rec.config.StopTimeout === 'number' ? rec.config.StopTimeout : 10);
    await this.signal(rec, signal).catch(() => undefined);
    const done = timeout < 0 ? await exited.then(() => true) : await Promise.race([exited.then(() => true), sleep(timeout * 1000).then(() => false)]);
    if (!done) {
      await this.signal(rec, 'SIGKILL').catch(() => undefined);
      await exited;
    }
    ctx.emitEvent(rec, 'stop');
    return true;
  }

  /** `docker kill`: marks the stop but leaves the policy alone (`always` restarts a killed container, as in Docker). */
  async kill(rec: ContainerRecord, signal?: string): Promise<void> {
    if (rec.state.status !== 'running') throw conflict('container.not_running', `container ${rec.id} is not running`);
    this.markStopped(rec.id);
    const sig = signal || 'SIGKILL';
    const exited = this.ctx.exits.next(rec.id);
    await this.signal(rec, sig);
    // As dockerd: a kill with SIGKILL returns once the container is dead.
    if (/^(SIG)?KILL$|^9$/.test(sig)) await Promise.race([exited, sleep(10_000)]);
  }

  /**
   * rm -f of a running or restarting container (dockerd's Kill): no restart from now on; a start by
   * the policy in flight is waited for, a pending one cancelled; then SIGKILL and the exit, whose
   * handler releases the network after the process is gone. Returns once it exited (or 10 s passed).
   */
  async killForRemoval(rec0: ContainerRecord): Promise<void> {
    const { ctx } = this;
    ctx.restarts.stopping(rec0.id);
    let [rec, exited] = [rec0, rec0.state.status === 'running' ? ctx.exits.next(rec0.id) : undefined];
    if (rec0.state.status === 'restarting') {
      [rec, exited] = await ctx.locked(rec0.id, async () => {
        const cur = ctx.mustGet(rec0.id);
        ctx.restarts.cancel(cur);
        return [cur, cur.state.status === 'running' ? ctx.exits.next(cur.id) : undefined] as const;
      });
    }
    if (!exited) return; // nothing runs: as dockerd, no kill event for a container waiting for its restart
    await this.signal(rec, 'SIGKILL').catch(() => undefined);
    await Promise.race([exited, sleep(10_000)]);
  }

  /** `docker stop`/`kill`: remembered (unless-stopped stays down, also across daemon restarts). */
  private markStopped(id: string): void {
    const cur = this.ctx.get(id);
    // A full disk does not keep a container from being stopped: the flag is lost (a restart policy may start it again).
    try {
      if (cur && !cur.state.manuallyStopped) this.ctx.put({ ...cur, state: { ...cur.state, manuallyStopped: true } });
    } catch (e) { log.warn({ err: e, id }, 'recording the manual stop failed'); }
  }

  private async signal(rec: ContainerRecord, raw: string): Promise<void> {
    const signal = parseSignal(raw);
    this.ctx.emitEvent(rec, 'kill', { signal: String(signalNumber(signal) ?? signal) });
    await this.ctx.runtime.signal(rec.id, signal);
    // A frozen process takes no signal until thawed: as dockerd, a signalled paused container is unpaused.
    if (rec.state.paused) {
      await this.ctx.runtime.pause(rec.id, false).catch(() => undefined);
      const cur = this.ctx.get(rec.id);
      if (cur) this.ctx.put({ ...cur, state: { ...cur.state, paused: false } });
    }
  }
}
