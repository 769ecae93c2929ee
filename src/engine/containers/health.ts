/**
 * Healthchecks as dockerd runs them: the test (`CMD` or `CMD-SHELL`) is exec'd in the container every
 * Interval (StartInterval during StartPeriod), each probe bounded by Timeout; Retries failures in a
 * row make the container `unhealthy`, one success `healthy`; failures inside the start period do not
 * count. State.Health keeps the last 5 probes (output cut to 4096 bytes), each status change is a
 * `health_status: <status>` event, and `ps` shows it. Each probe is an exec as dockerd's: events
 * `exec_create: CMD ARGS`, `exec_start: CMD ARGS` (execID) and `exec_die` (execID, exitCode).
 *
 * Use: `healthHooks(deps)` is a ContainerHooks feature (afterStart starts the probes, beforeStop ends
 * them, restore picks up re-adopted containers); `effectiveHealthcheck(config)` for tests.
 * Beware: probes save the record through the controller's `modify` (under the container's lock), so
 * they are never started from inside a hook synchronously.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execProcess, type OciProcess } from '../../runtime/index.js';
import { logger, newId, nowRfc3339Nano } from '../../util/index.js';
import type { ContainerHooks } from './container-hooks.js';
import type { ContainerRecord, HealthState } from './container-types.js';

const log = logger.child({ component: 'health' });

export interface Healthcheck {
  test: string[];
  intervalMs: number;
  timeoutMs: number;
  retries: number;
  startPeriodMs: number;
  startIntervalMs: number;
}

const NS_PER_MS = 1e6;
const OUTPUT_LIMIT = 4096;
const LOG_LENGTH = 5;

/** The container's healthcheck with Docker's defaults (30 s, 30 s, 3, 0, 5 s), or undefined. */
export function effectiveHealthcheck(config: Record<string, unknown>): Healthcheck | undefined {
  const hc = config.Healthcheck as { Test?: string[]; Interval?: number; Timeout?: number; Retries?: number; StartPeriod?: number; StartInterval?: number } | undefined;
  const test = hc?.Test ?? [];
  if (!test.length || test[0] === 'NONE') return undefined;
  const ms = (ns: number | undefined, def: number): number => (ns && ns > 0 ? ns / NS_PER_MS : def);
  // CMD-SHELL runs in the image's SHELL (Config.Shell) as dockerd's getShell, else /bin/sh -c.
  const shell = Array.isArray(config.Shell) && config.Shell.length && config.Shell.every((s) => typeof s === 'string') ? (config.Shell as string[]) : ['/bin/sh', '-c'];
  let argv: string[];
  if (test[0] === 'CMD') argv = test.slice(1);
  else if (test[0] === 'CMD-SHELL') argv = [...shell, ...test.slice(1)];
  else argv = [...shell, test.join(' ')];
  if (!argv.length) return undefined;
  return {
    test: argv,
    intervalMs: ms(hc?.Interval, 30_000),
    timeoutMs: ms(hc?.Timeout, 30_000),
    retries: hc?.Retries && hc.Retries > 0 ? hc.Retries : 3,
    startPeriodMs: ms(hc?.StartPeriod, 0),
    startIntervalMs: ms(hc?.StartInterval, 5_000),
  };
}

/** The next health state after one probe (pure). */
export function nextHealth(prev: HealthState, probe: { exitCode: number; output: string; start: string; end: string }, hc: Healthcheck, inStartPeriod: boolean): HealthState {
  const entry = { Start: probe.start, End: probe.end, ExitCode: probe.exitCode, Output: probe.output };
  const Log = [...prev.Log, entry].slice(-LOG_LENGTH);
  if (probe.exitCode === 0) return { Status: 'healthy', FailingStreak: 0, Log };
  if (inStartPeriod && prev.Status === 'starting') return { ...prev, Log };
  const FailingStreak = prev.FailingStreak + 1;
  return { Status: FailingStreak >= hc.retries ? 'unhealthy' : prev.Status, FailingStreak, Log };
}

export interface HealthDeps {
  runcRoot: string;
  /** Saves a change to the container under its lock (the controller's `modify`). */
  modify(id: string, fn: (rec: ContainerRecord) => Promise<void>): Promise<void>;
  emitEvent(rec: ContainerRecord, action: string, extra?: Record<string, string>): void;
}

type Emit = HealthDeps['emitEvent'];

/** Runs one probe in the container: exit code and the first 4096 bytes of output. */
async function probe(rec: ContainerRecord, hc: Healthcheck, runcRoot: string, emit: Emit): Promise<{ exitCode: number; output: string }> {
  const base = (JSON.parse(await readFile(join(rec.dir, 'config.json'), 'utf8')) as { process: OciProcess }).process;
  // dockerd's action text: the entrypoint, a space, the arguments joined (so `true` reads "true ").
  const [entry = '', ...args] = hc.test;
  const execID = newId();
  emit(rec, `exec_create: ${entry} ${args.join(' ')}`, { execID });
  emit(rec, `exec_start: ${entry} ${args.join(' ')}`, { execID });
  const p = await execProcess({ id: rec.id, runcRoot, processSpec: { ...base, args: hc.test, terminal: false }, tty: false, stdin: false });
  // exec_die whenever the process ends, also after a timeout gave up on it.
  p.exitCode.then((code) => emit(rec, 'exec_die', { execID, exitCode: String(code) }), () => undefined);
  const chunks: Buffer[] = [];
  let size = 0;
  const reading = (async () => {
    for await (const f of p.stream.output as AsyncIterable<{ data: Buffer }>) {
      if (size < OUTPUT_LIMIT) chunks.push(f.data);
      size += f.data.length;
    }
  })();
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), hc.timeoutMs)));
  const r = await Promise.race([p.exitCode, timedOut]);
  clearTimeout(timer);
  if (r === 'timeout') {
    p.stream.close();
    return { exitCode: -1, output: `Health check exceeded timeout (${hc.timeoutMs / 1000}s)` };
  }
  await reading.catch(() => undefined);
  return { exitCode: r, output: Buffer.concat(chunks).subarray(0, OUTPUT_LIMIT).toString('utf8') };
}

export function healthHooks(deps: HealthDeps): ContainerHooks {
  const timers = new Map<string, NodeJS.Timeout>();
  const stop = (id: string): void => {
    clearTimeout(timers.get(id));
    timers.delete(id);
  };
  const begin = (rec: ContainerRecord, fresh: boolean): void => {
    const hc = effectiveHealthcheck(rec.config);
    if (!hc) return;
    stop(rec.id);
    const startedMs = Date.now();
    const schedule = (delay: number): void => {
      timers.set(rec.id, setTimeout(() => void tick(), delay));
    };
    const tick = async (): Promise<void> => {
      if (!timers.has(rec.id)) return;
      const start = nowRfc3339Nano();
      const result = await probe(rec, hc, deps.runcRoot, deps.emitEvent).catch((e: unknown) => ({ exitCode: -1, output: (e as Error).message }));
      const inStart = Date.now() - startedMs < hc.startPeriodMs;
      if (!timers.has(rec.id)) return;
      await deps.modify(rec.id, async (cur) => {
        if (cur.state.status !== 'running') return;
        const prev = cur.state.health ?? { Status: 'starting', FailingStreak: 0, Log: [] };
        const next = nextHealth(prev, { ...result, start, end: nowRfc3339Nano() }, hc, inStart);
        cur.state = { ...cur.state, health: next };
        if (next.Status !== prev.Status) deps.emitEvent(cur, `health_status: ${next.Status}`);
      }).catch((e: unknown) => log.warn({ err: e, id: rec.id }, 'saving a health probe failed'));
      if (timers.has(rec.id)) schedule(inStart ? hc.startIntervalMs : hc.intervalMs);
    };
    timers.set(rec.id, setTimeout(() => undefined, 0));
    if (fresh) {
      setTimeout(() => {
        void deps.modify(rec.id, async (cur) => {
          cur.state = { ...cur.state, health: { Status: 'starting', FailingStreak: 0, Log: [] } };
        }).catch(() => undefined);
      }, 0);
    }
    schedule(hc.startPeriodMs > 0 ? hc.startIntervalMs : hc.intervalMs);
  };
  return {
    name: 'health',
    afterStart: async (rec) => begin(rec, true),
    beforeStop: async (rec) => stop(rec.id),
    removed: async (rec) => stop(rec.id),
    restore: async (running) => {
      for (const rec of running) begin(rec, false);
    },
  };
}
