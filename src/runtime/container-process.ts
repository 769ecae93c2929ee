/**
 * A container's process through redes-shim: create/start it, wait for its exit, signal it, resize
 * its tty. Nothing here holds the container: the shim does, detached from the daemon, so a daemon
 * restarted after `kill -9` finds running containers with `isRunning` and waits on them again with
 * `waitExit`, from the state directory alone (layout in state-files.ts).
 *
 * Use: write config.json into the bundle (oci-spec.ts), then `startContainer(...)`; or, to attach
 * before anything is printed (docker run), `createContainer`, `attach`, then `startCreated`.
 * Beware: the daemon cannot waitpid() the init (it is the shim's child); the `exit` file is the
 * only record of the exit code.
 */
import { existsSync, mkdirSync, realpathSync, rmSync, watch, type FSWatcher } from 'node:fs';
import { connect } from 'node:net';
import { join, resolve } from 'node:path';
import { CGROUP_ROOT, CommandError, run } from '../kernel/index.js';
import { conflict, internal, invalidParameter, logger } from '../util/index.js';
import type { PrivateMountPlan } from './private-mounts.js';
import { runcDelete, runcKill, runcStart, type Runc } from './runc.js';
import { shimBinary } from './shim-binary.js';
import { pollForExit } from './exit-poller.js';
import { encodeFrame, FrameType, resizeArg } from './shim-protocol.js';
import { connectPath, exitStatus, formatNs, shimPid, StateFile, type ExitStatus } from './state-files.js';

export interface ContainerProcessOptions {
  /** The runc container id (redes uses the 64-hex container id). */
  id: string;
  /** Holds config.json and the rootfs it names. */
  bundleDir: string;
  /** Kept by the caller across runs and daemon restarts; the log accumulates there. */
  stateDir: string;
  runcRoot: string;
  /** Must match `process.terminal` of the spec. */
  tty: boolean;
  /** Give the container a stdin that attachers can write to (`docker run -i`). */
  openStdin: boolean;
  runcPath?: string;
  /** Where the output goes: rotated log files (json-file's max-size/max-file), or nowhere (driver none). */
  log?: LogLimits;
  /** The container's cgroup (`/<prefix>/<id>`): its memory controller's OOM-kill count is recorded at the exit. */
  cgroupPath?: string;
  /** `runc create` in a mount namespace of its own without these mounts (private-mounts.ts). */
  privateMounts?: PrivateMountPlan;
  /** With privateMounts: an fd of the template namespace to start from (mount-template.ts). */
  mountTemplateFd?: number;
}

const log = logger.child({ component: 'runtime' });
const warned = new Set<string>();

/** What each kind of warning of the shim means, logged once per daemon: the cause (kernel, permissions) is the same for every container. */
const WARNINGS: ReadonlyArray<[prefix: string, meaning: string]> = [
  ['private mount namespace: ', "runc create runs in the daemon's mount namespace (its cost grows with the number of containers)"],
  ['mount template: ', "runc create copies the daemon's mount namespace instead of the template (its cost grows with the number of containers)"],
];

/** The shim prints the init's pid, then a line per warning (a private mount namespace it could not make). */
function parseCreated(stdout: string): number {
  const [first = '', ...rest] = stdout.split('\n');
  for (const line of rest.filter((l) => l.startsWith('warning ')).map((l) => l.slice('warning '.length))) {
    const [prefix, meaning] = WARNINGS.find(([p]) => line.startsWith(p)) ?? ['', 'redes-shim'];
    if (warned.has(prefix)) continue;
    warned.add(prefix);
    log.warn({ reason: line.slice(prefix.length) }, meaning);
  }
  return Number.parseInt(first, 10);
}

/** A log kept in files of at most `maxSize` bytes (0: one file that grows), `maxFile` of them. */
export type LogLimits = { keep: true; maxSize: number; maxFile: number } | { keep: false };

/** The memory controller's directory of a cgroup: the v1 hierarchy when mounted, else the unified one. */
function memoryCgroupDir(path: string): string {
  return existsSync(`${CGROUP_ROOT}/memory`) ? `${CGROUP_ROOT}/memory${path}` : `${CGROUP_ROOT}${path}`;
}

const runcOf = (o: { runcRoot: string; runcPath?: string }): Runc => ({ root: o.runcRoot, bin: o.runcPath });

/** Docker's wording around runc's own message, which the engine may inspect (exit 127 / 126 cases). */
function createFailed(e: unknown): Error {
  const detail = e instanceof CommandError ? e.result.stderr.trim() || e.message : String(e);
  const message = `failed to create task for container: failed to create shim task: OCI runtime create failed: ${detail}: unknown`;
  // As dockerd: a command that is missing or may not be run is the request's fault (400), not ours.
  if (/executable file not found|no such file or directory|permission denied/i.test(detail)) {
    return invalidParameter('runtime.bad_command', message, e);
  }
  return internal('runtime.create_failed', message, e);
}

/**
 * Starts a shim that runs `runc create`: the init exists (and holds its stdio, the log is open,
 * attach.sock listens) but has not exec'd the user's program. Resolves with the init's pid.
 */
export async function createContainer(opts: ContainerProcessOptions): Promise<{ pid: number }> {
  if (isRunning(opts.stateDir)) {
    throw conflict('runtime.container_running', `Container ${opts.id} is already running`);
  }
  mkdirSync(opts.stateDir, { recursive: true, mode: 0o700 });
  for (const stale of [StateFile.exit, StateFile.initPid, StateFile.shimPid, StateFile.socket]) {
    rmSync(join(opts.stateDir, stale), { force: true });
  }
  // Absolute paths: the shim works from inside the state directory.
  const argv = [shimBinary(), 'create', '--id', opts.id, '--bundle', resolve(opts.bundleDir), '--state', resolve(opts.stateDir)];
  argv.push('--root', resolve(opts.runcRoot), '--runc', opts.runcPath ?? 'runc');
  if (opts.tty) argv.push('--tty');
  if (opts.openStdin) argv.push('--stdin');
  if (opts.log?.keep === false) argv.push('--no-log');
  else if (opts.log) argv.push('--log-max-size', String(opts.log.maxSize), '--log-max-file', String(opts.log.maxFile));
  if (opts.cgroupPath) argv.push('--oom-cgroup', memoryCgroupDir(opts.cgroupPath));
  for (const d of opts.privateMounts?.detach ?? []) argv.push('--detach-mount', d);
  for (const k of opts.privateMounts?.keep ?? []) argv.push('--keep-mount', k);
  const extraFds = opts.privateMounts && opts.mountTemplateFd !== undefined ? [opts.mountTemplateFd] : [];
  if (extraFds.length) argv.push('--mount-template-fd', '3');
  let stdout: string;
  try {
    ({ stdout } = await run(argv, { timeoutMs: 60_000, extraFds }));
  } catch (e) {
    throw createFailed(e);
  }
  return { pid: parseCreated(stdout) };
}

/** Lets a created container run its program. On failure the container is removed. */
export async function startCreated(opts: { id: string; runcRoot: string; runcPath?: string }): Promise<void> {
  try {
    await runcStart(runcOf(opts), opts.id);
  } catch (e) {
    // `runc start` unblocks the init through exec.fifo, then removes the fifo. A program that
    // exits at once gets reaped and `runc delete`d by the shim in between: it did start.
    if (e instanceof CommandError && /exec\.fifo: no such file or directory/.test(e.result.stderr)) return;
    await runcDelete(runcOf(opts), opts.id).catch(() => undefined);
    throw internal('runtime.start_failed', `OCI runtime start failed: ${String(e)}`, e);
  }
}

/** create + start: the container's program is running (or has already run) when this resolves. */
export async function startContainer(opts: ContainerProcessOptions): Promise<{ pid: number }> {
  const created = await createContainer(opts);
  await startCreated(opts);
  return created;
}

/** True while a shim serves this state directory and no exit is recorded (re-adoption check). */
export function isRunning(stateDir: string): boolean {
  return shimPid(stateDir) !== null && exitStatus(stateDir) === null;
}

/**
 * Resolves once the current run is over, also for a container started by an earlier daemon
 * process. If the shim is gone without recording an exit, resolves with `lost: true` and 255.
 */
export function waitExit(stateDir: string, signal?: AbortSignal): Promise<ExitStatus> {
  return new Promise((resolve, reject) => {
    let watcher: FSWatcher | undefined;
    let stopPolling = (): void => undefined;
    const done = (): void => {
      watcher?.close();
      stopPolling();
      signal?.removeEventListener('abort', onAbort);
    };
    let realDir: string | undefined;
    try {
      realDir = realpathSync.native(stateDir);
    } catch {
      // the directory is gone: shimPid finds no shim and the check reports the exit as lost
    }
    const check = (): void => {
      const status = exitStatus(stateDir);
      if (status) return done(), resolve(status);
      if (shimPid(stateDir, realDir) !== null) return;
      // The shim writes `exit` before it exits; read once more in case both happened just now.
      const now = BigInt(Date.now()) * 1_000_000n;
      const late = exitStatus(stateDir);
      done();
      resolve(late ?? { exitCode: 255, finishedAtNs: now, finishedAt: formatNs(now), lost: true });
    };
    const onAbort = (): void => {
      done();
      reject(signal?.reason ?? new Error('aborted'));
    };
    stopPolling = pollForExit(check); // also covers a watcher that misses an event, and a killed shim
    try {
      watcher = watch(stateDir, (_event, name) => {
        if (name === StateFile.exit) check();
      });
      watcher.on('error', () => undefined);
    } catch {
      // the directory is gone: the interval check reports the shim as lost
    }
    signal?.addEventListener('abort', onAbort, { once: true });
    check();
  });
}

/** Sends one frame to the shim and closes; resolves once the shim has the bytes. */
function sendToShim(stateDir: string, frame: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    connectPath(stateDir, StateFile.socket, (path, closeDir) => {
      const sock = connect(path);
      sock.once('connect', closeDir);
      sock.once('error', (e) => {
        closeDir();
        reject(conflict('runtime.container_not_running', `Container is not running: ${e.message}`));
      });
      sock.end(frame, () => resolve());
      return sock;
    });
  });
}

/** Sets the tty size of a running container (no effect without a tty). */
export function resize(stateDir: string, height: number, width: number): Promise<void> {
  return sendToShim(stateDir, encodeFrame(FrameType.resize, resizeArg(height, width)));
}

/** Sends a signal to the container's init through `runc kill` (e.g. 'SIGTERM', 'KILL', 9). */
export function signalContainer(
  opts: { id: string; runcRoot: string; runcPath?: string },
  signal: string | number,
): Promise<void> {
  return runcKill(runcOf(opts), opts.id, signal);
}

/** Forgets a stopped (or stuck) container in runc, killing what is left. Safe to repeat. */
export function deleteContainer(opts: { id: string; runcRoot: string; runcPath?: string }): Promise<void> {
  return runcDelete(runcOf(opts), opts.id);
}
