/**
 * The per-container state directory that redes-shim keeps (the engine chooses where it lives and
 * keeps it across restarts of the container and of the daemon):
 *
 *   shim.pid     pid of the shim; its cwd is this directory, which tells it apart from a reused pid
 *   init.pid     pid of the container's init (written by runc)
 *   attach.sock  the shim's socket while it runs (attach, stdin, resize)
 *   log          output frames of every run, appended (see shim-protocol.ts)
 *   log.1 ...    older log files, when the log rotates (see logs.ts)
 *   exit         {"exitCode":N,"finishedAtNs":"…","oomKilled":B}, renamed into place once the run is over and
 *                runc's state is deleted: its presence means "exited"
 *   exit.tmp     made by the shim at start (spaces) and overwritten with the exit: its room on a full disk
 *
 * Races: `exit` is written last (after the output is drained and `runc delete`), so a reader who
 * sees it also sees the complete log. A new run removes the previous `exit` before the shim starts.
 * Beware: unix socket paths are limited to 107 bytes; `connectPath` goes through /proc/self/fd for
 * long state directories.
 */
import { existsSync, openSync, readFileSync, readlinkSync, realpathSync, closeSync } from 'node:fs';
import { join } from 'node:path';

export const StateFile = {
  shimPid: 'shim.pid',
  initPid: 'init.pid',
  socket: 'attach.sock',
  log: 'log',
  exit: 'exit',
} as const;

export interface ExitStatus {
  exitCode: number;
  /** RFC 3339 with nanoseconds, UTC. */
  finishedAt: string;
  finishedAtNs: bigint;
  /** True when the shim vanished without recording the exit (killed, or the machine rebooted). */
  lost?: boolean;
  /** The memory cgroup's oom_kill counter was above 0 at the exit (absent: the shim was not asked). */
  oomKilled?: boolean;
}

/** Formats epoch nanoseconds as Docker does: `2026-11-27T22:53:28.123456789Z`. */
export function formatNs(ns: bigint): string {
  const ms = ns / 1_000_000n;
  const iso = new Date(Number(ms)).toISOString();
  return `${iso.slice(0, 19)}.${(ns % 1_000_000_000n).toString().padStart(9, '0')}Z`;
}

/** The recorded exit of the last run, or null while it runs (or never ran). */
export function exitStatus(stateDir: string): ExitStatus | null {
  const path = join(stateDir, StateFile.exit);
  // A running container has no `exit`: asked for each one at a re-adoption and by the exit poller, a
  // failed read would build and throw an error each time (existsSync does not).
  if (!existsSync(path)) return null;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return null;
  }
  const parsed = JSON.parse(text) as { exitCode: number; finishedAtNs: string; oomKilled?: boolean };
  const finishedAtNs = BigInt(parsed.finishedAtNs);
  const oom = typeof parsed.oomKilled === 'boolean' ? { oomKilled: parsed.oomKilled } : {};
  return { exitCode: parsed.exitCode, finishedAtNs, finishedAt: formatNs(finishedAtNs), ...oom };
}

function readPid(stateDir: string, name: string): number | null {
  try {
    const pid = Number.parseInt(readFileSync(join(stateDir, name), 'utf8'), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

/** The pid of the container's init as runc wrote it, or null. */
export function initPid(stateDir: string): number | null {
  return readPid(stateDir, StateFile.initPid);
}

/**
 * The live shim's pid, or null: a pid counts only if that process's cwd is this state dir.
 * `realDir` is the state dir's real path when the caller already has it (a poller asks often:
 * resolving the path costs a stat per path component).
 */
export function shimPid(stateDir: string, realDir?: string): number | null {
  const pid = readPid(stateDir, StateFile.shimPid);
  if (pid === null) return null;
  try {
    // realpathSync.native is one system call; the JavaScript realpath lstats each path component
    // (91 against 15 us here), and a re-adoption asks for every running container.
    return readlinkSync(`/proc/${pid}/cwd`) === (realDir ?? realpathSync.native(stateDir)) ? pid : null;
  } catch {
    return null;
  }
}

/**
 * Calls `connect` with a path naming `name` in `dir` that fits a unix socket address, and closes
 * the directory descriptor it may have opened once `connect` has returned its socket's first event.
 */
export function connectPath<T>(dir: string, name: string, connect: (path: string, done: () => void) => T): T {
  const direct = join(dir, name);
  if (Buffer.byteLength(direct) < 100) return connect(direct, () => undefined);
  const fd = openSync(dir, 'r');
  let closed = false;
  return connect(`/proc/self/fd/${fd}/${name}`, () => {
    if (!closed) closeSync(fd);
    closed = true;
  });
}
