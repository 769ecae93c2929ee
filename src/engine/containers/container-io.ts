/**
 * A container's stdio as the API sees it: attach (also before the start, for `docker run`), logs and
 * tty resize, all through the shim's state directory, so they work for containers an earlier daemon
 * started.
 *
 * Use: the controller owns one; at start it calls `connectPending` once the shim exists, or
 * `failPending` when the start fails.
 * Beware: an attach to a created container is held (LateAttach) until that start.
 */
import { join } from 'node:path';
import { attach as runtimeAttach, readLogs, resize as runtimeResize } from '../../runtime/index.js';
import { conflict, notImplemented } from '../../util/index.js';
import { endedSession, LateAttach, liveSession } from './attach-session.js';
import type { AttachSession, ContainerRecord, LogLine, LogOptions } from './container-types.js';

type Streams = { stdin: boolean; stdout: boolean; stderr: boolean };

/** The shim's state directory of a container (log, exit file, attach socket). */
export const stateDirOf = (rec: ContainerRecord): string => join(rec.dir, 'state');

export class ContainerIo {
  private readonly pending = new Map<string, Array<{ s: LateAttach; opts: Streams }>>();

  async attach(rec: ContainerRecord, opts: Streams & { logs: boolean; stream: boolean }): Promise<AttachSession> {
    const tty = rec.config.Tty === true;
    if (rec.state.status === 'created' && opts.stream) {
      const s = new LateAttach(tty, opts.stdin);
      const list = this.pending.get(rec.id) ?? [];
      list.push({ s, opts: { stdin: opts.stdin, stdout: opts.stdout, stderr: opts.stderr } });
      this.pending.set(rec.id, list);
      return s;
    }
    if (rec.state.status !== 'running' && !opts.logs) return endedSession(tty);
    return liveSession(tty, await runtimeAttach(stateDirOf(rec), opts));
  }

  /** Start: the shim exists; attaches made before it are joined to it. */
  async connectPending(rec: ContainerRecord): Promise<void> {
    for (const { s, opts } of this.pending.get(rec.id) ?? []) {
      s.connect(await runtimeAttach(stateDirOf(rec), { ...opts, stream: true, logs: false }));
    }
    this.pending.delete(rec.id);
  }

  /** The start failed: attaches made before it end. */
  failPending(id: string): void {
    for (const { s } of this.pending.get(id) ?? []) s.fail();
    this.pending.delete(id);
  }

  /** `docker logs`; refused at once (dockerd's 501) for a container whose driver keeps no log. */
  logs(rec: ContainerRecord, opts: LogOptions): AsyncIterable<LogLine> {
    if ((rec.hostConfig.LogConfig as { Type?: unknown } | undefined)?.Type === 'none') {
      throw notImplemented('container.logs_unsupported', 'configured logging driver does not support reading');
    }
    return this.logLines(rec, opts);
  }

  private async *logLines(rec: ContainerRecord, opts: LogOptions): AsyncIterable<LogLine> {
    for await (const e of readLogs(stateDirOf(rec), {
      follow: opts.follow && rec.state.status === 'running', stdout: opts.stdout, stderr: opts.stderr,
      ...(opts.tail !== undefined ? { tail: opts.tail } : {}), ...(opts.sinceNs !== undefined ? { sinceNs: opts.sinceNs } : {}),
      ...(opts.untilNs !== undefined ? { untilNs: opts.untilNs } : {}), ...(opts.signal ? { signal: opts.signal } : {}),
    })) {
      yield { stream: e.stream, data: e.data, time: e.time };
    }
  }

  async resize(rec: ContainerRecord, height: number, width: number): Promise<void> {
    if (rec.state.status !== 'running') throw conflict('container.not_running', `Container ${rec.id} is not running`);
    await runtimeResize(stateDirOf(rec), height, width);
  }
}
