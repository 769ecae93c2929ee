/**
 * A thin wrapper around `runc --root <root>` for the calls that need no stdio of their own:
 * state, list, start, kill, delete. (create and exec go through redes-shim, which owns their stdio;
 * start and kill are done without runc when its state files make them unambiguous.)
 *
 * Use: `const rc: Runc = { root: '/run/redes/runc' }; await runcState(rc, id)`.
 * Beware: runc needs the host's /sys/fs/cgroup: run the daemon in its netns with `nsenter --net`,
 * not `ip netns exec` (which remounts /sys). `--log /dev/null` keeps runc's error on stderr as one
 * plain line rather than logrus text.
 */
import { existsSync, readFileSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { join } from 'node:path';
import { CommandError, pidStat, run } from '../kernel/index.js';
import { conflict, notFound } from '../util/index.js';
import { startThroughFifo } from './exec-fifo.js';

export interface Runc {
  /** runc's state directory (`--root`), one per daemon instance. */
  root: string;
  /** The runc binary; `runc` on PATH by default. */
  bin?: string;
}

export type RuncStatus = 'created' | 'running' | 'stopped' | 'paused';

export interface RuncState {
  id: string;
  pid: number;
  status: RuncStatus;
  bundle: string;
  created: string;
}

function argv(rc: Runc, ...args: string[]): string[] {
  return [rc.bin ?? 'runc', '--root', rc.root, '--log', '/dev/null', ...args];
}

const missing = (e: unknown): boolean => e instanceof CommandError && /does not exist/.test(e.result.stderr);
const notRunning = (e: unknown): boolean =>
  e instanceof CommandError && /not running|container not running|process already finished/.test(e.result.stderr);

/** runc's view of one container, or null when runc does not know it. */
export async function runcState(rc: Runc, id: string): Promise<RuncState | null> {
  try {
    const { stdout } = await run(argv(rc, 'state', id), { timeoutMs: 10_000 });
    return JSON.parse(stdout) as RuncState;
  } catch (e) {
    if (missing(e)) return null;
    throw e;
  }
}

/** Every container under this root (the doctor compares them with the running containers). */
export async function runcList(rc: Runc): Promise<RuncState[]> {
  const { stdout } = await run(argv(rc, 'list', '--format', 'json'), { timeoutMs: 10_000 });
  return (JSON.parse(stdout) as RuncState[] | null) ?? [];
}

/** Lets a created container's init exec its process (through runc's exec fifo; runc itself when unclear). */
export async function runcStart(rc: Runc, id: string): Promise<void> {
  if (await startThroughFifo(rc.root, id)) return;
  await run(argv(rc, 'start', id), { timeoutMs: 10_000 });
}

/**
 * Sends a signal (name like `SIGTERM`/`TERM`, or a number) to the init. A container that is not
 * running is a conflict, an unknown one is not found.
 */
export async function runcKill(rc: Runc, id: string, signal: string | number = 'SIGTERM'): Promise<void> {
  if (signalDirectly(rc, id, signal)) return;
  try {
    await run(argv(rc, 'kill', id, String(signal)), { timeoutMs: 10_000 });
  } catch (e) {
    if (missing(e)) throw notFound('runtime.container_not_found', `No such container: ${id}`);
    if (notRunning(e)) throw conflict('runtime.container_not_running', `Container ${id} is not running`);
    throw e;
  }
}

/**
 * What `runc kill` does, without starting runc (which costs 60-300 ms on these machines): read the
 * init's pid and start time from runc's state file, check that the pid still names that process (so
 * a reused pid is never signalled), send the signal. Returns false when anything is unclear (no state,
 * the process gone, an unknown signal): the caller then asks runc, which gives its own errors.
 */
function signalDirectly(rc: Runc, id: string, signal: string | number): boolean {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(id)) return false;
  const signo = typeof signal === 'number' ? signal : osConstants.signals[`SIG${signal.replace(/^SIG/, '')}` as keyof typeof osConstants.signals];
  if (!Number.isInteger(signo) || signo <= 0) return false;
  try {
    const st = JSON.parse(readFileSync(join(rc.root, id, 'state.json'), 'utf8')) as { init_process_pid?: number; init_process_start?: number };
    const pid = st.init_process_pid;
    if (!pid || !st.init_process_start) return false;
    const now = pidStat(pid);
    if (!now || now.startTime !== st.init_process_start || now.state === 'Z') return false;
    process.kill(pid, signo);
    return true;
  } catch {
    return false;
  }
}

/**
 * Kills what is left and forgets the container (cgroups included). Safe to repeat. A container
 * without a state directory is one runc already forgot (the shim deletes it on exit): no runc run.
 */
export async function runcDelete(rc: Runc, id: string): Promise<void> {
  if (/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(id) && !existsSync(join(rc.root, id))) return;
  try {
    await run(argv(rc, 'delete', '--force', id), { timeoutMs: 10_000 });
  } catch (e) {
    if (!missing(e)) throw e;
  }
}

/** Changes the cgroup limits of a running container (`runc update -r -`, OCI `linux.resources` JSON). */
export async function runcUpdate(rc: Runc, id: string, resources: object): Promise<void> {
  await run(argv(rc, 'update', '-r', '-', id), { input: JSON.stringify(resources), timeoutMs: 10_000 });
}

/** Freezes every process of the container (freezer cgroup), or thaws them. */
export async function runcPause(rc: Runc, id: string, pause: boolean): Promise<void> {
  await run(argv(rc, pause ? 'pause' : 'resume', id), { timeoutMs: 10_000 });
}
