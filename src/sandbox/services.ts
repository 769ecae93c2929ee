/**
 * The programs a sandbox runs: the world (and lan) server and the daemon `redesd`, each started
 * detached inside its namespace with `nsenter --net`, its pid in a pidfile and its output appended
 * to a log under /run/redes/N.
 *
 * Beware: a pid read back from a file may belong to another program by now. `isOurs...` checks the
 * command line (program and sandbox name) before anything signals it.
 */
import { join } from 'node:path';
import http from 'node:http';
import { access, open, rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { nsenterArgv, pidInNetns, pidAlive, pidCmdline, startDetached, stopPid, writePidfile } from '../kernel/index.js';
import { unavailable } from '../util/index.js';
import type { SandboxPaths } from './layout.js';

const WORLD_SERVER = fileURLToPath(new URL('./world-server.js', import.meta.url));
/** The repo root is three levels up from dist/src/sandbox/. */
const DEFAULT_ENTRY = fileURLToPath(new URL('../../../dist/src/cli/redesd.js', import.meta.url));

/** The daemon's entry file: the caller's choice, else $REDESD_ENTRY, else the built one. */
export function daemonEntry(entry?: string): string {
  return entry ?? process.env.REDESD_ENTRY ?? DEFAULT_ENTRY;
}

const argAfter = (argv: string[], flag: string): string | undefined => argv[argv.indexOf(flag) + 1];

/** True when `pid` runs the world server of sandbox `name`. */
export async function isOurServer(pid: number, name: string): Promise<boolean> {
  const argv = await pidCmdline(pid);
  return !!argv && argv.some((a) => a.endsWith('world-server.js')) && argAfter(argv, '--sandbox') === name;
}

/** True when `pid` runs a daemon for sandbox `name` (whatever its entry). */
export async function isOurDaemon(pid: number, name: string): Promise<boolean> {
  const argv = await pidCmdline(pid);
  return !!argv && argv.includes('-H') && argAfter(argv, '--prefix') === name;
}

/** The last `lines` lines of a log file ('' when missing). */
export async function logTail(path: string, lines = 40): Promise<string> {
  try {
    const fh = await open(path, 'r');
    try {
      const { size } = await fh.stat();
      const len = Math.min(size, 64 * 1024);
      const buf = Buffer.alloc(len);
      await fh.read(buf, 0, len, size - len);
      return buf.toString('utf8').split('\n').slice(-lines - 1).join('\n');
    } finally {
      await fh.close();
    }
  } catch {
    return '';
  }
}

export interface ServerSpec {
  netns: string;
  pidPath: string;
  logPath: string;
  /** world-server arguments after `--sandbox N`. */
  args: string[];
}

/**
 * Keep the server of `spec` running: a live one of ours in the right namespace is kept; one in a
 * stale namespace (the namespace was remade) is stopped; then a new one is started and awaited.
 * Returns its pid and whether it was started now.
 */
export async function ensureServer(name: string, spec: ServerSpec, oldPid: number | undefined): Promise<{ pid: number; started: boolean }> {
  if (oldPid !== undefined && (await pidAlive(oldPid)) && (await isOurServer(oldPid, name))) {
    if (await pidInNetns(oldPid, spec.netns)) return { pid: oldPid, started: false };
    await stopPid(oldPid, { graceMs: 2_000 });
  }
  const argv = nsenterArgv(spec.netns, [process.execPath, WORLD_SERVER, '--sandbox', name, ...spec.args]);
  let pid: number;
  try {
    pid = await startDetached(argv, { logPath: spec.logPath, readyLine: 'ready', readyTimeoutMs: 5_000 });
  } catch (e) {
    const tail = await logTail(spec.logPath, 10);
    throw unavailable('sandbox.server', `${(e as Error).message}${tail ? `\n${tail}` : ''}`);
  }
  await writePidfile(spec.pidPath, pid);
  return { pid, started: true };
}

/** True when the daemon answers `GET /_ping` with `OK` on its socket. */
export function ping(socketPath: string, timeoutMs = 1_000): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get({ socketPath, path: '/_ping', timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve(res.statusCode === 200 && body.trim() === 'OK'));
      res.on('error', () => resolve(false));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
  });
}

export interface DaemonSpec {
  name: string;
  paths: SandboxPaths;
  entry: string;
  logLevel?: string;
  /** More redesd flags, after the sandbox's own. */
  extraArgs?: readonly string[];
  readyTimeoutMs: number;
}

/** Wait until the daemon pings, failing early if it dies; on timeout it is stopped. */
async function waitReady(spec: DaemonSpec, pid: number): Promise<void> {
  const deadline = Date.now() + spec.readyTimeoutMs;
  for (;;) {
    if (await ping(spec.paths.socket, 500)) return;
    const alive = await pidAlive(pid);
    if (!alive || Date.now() >= deadline) {
      if (alive) await stopPid(pid, { graceMs: 2_000 });
      const why = alive ? `no answer to /_ping within ${spec.readyTimeoutMs} ms` : 'it exited';
      const tail = await logTail(spec.paths.daemonLog);
      throw unavailable('sandbox.daemon', `start redesd for sandbox "${spec.name}" failed: ${why}; log tail:\n${tail}`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
}

/**
 * Keep the daemon running and answering: a live one of ours in namespace N is waited for (it may be
 * starting); one in a stale namespace is stopped; else a new one is started. Returns its pid and
 * whether it was started now.
 */
export async function ensureDaemon(spec: DaemonSpec, oldPid: number | undefined): Promise<{ pid: number; started: boolean }> {
  const { name, paths } = spec;
  if (oldPid !== undefined && (await pidAlive(oldPid)) && (await isOurDaemon(oldPid, name))) {
    if (await pidInNetns(oldPid, paths.hostNetns)) {
      await waitReady(spec, oldPid);
      return { pid: oldPid, started: false };
    }
    await stopPid(oldPid, { graceMs: 10_000 });
  }
  try {
    await access(spec.entry);
  } catch {
    throw unavailable('sandbox.daemon', `start redesd failed: entry "${spec.entry}" not found (run npx tsc, or set REDESD_ENTRY)`);
  }
  // A socket left by a dead daemon would make the ping below fail slowly or talk to nothing.
  await rm(paths.socket, { force: true });
  const argv = nsenterArgv(paths.hostNetns, [
    process.execPath,
    spec.entry,
    '--prefix', name,
    '-H', paths.dockerHost,
    '--data-root', paths.dataRoot,
    '--exec-root', paths.execRoot,
    // The sandbox's upstream resolver is its world's DNS server, never the machine's own.
    '--resolv-conf', join(paths.execRoot, 'resolv.conf'),
    '--busybox-image',
    // Trust the sandbox registry's CA (registry.ts): the certs.d layout under the exec-root.
    '--registry-certs-dir', join(paths.execRoot, 'certs.d'),
    // `redes audit --verify` probes "the world" from the sandbox's world namespace.
    '--audit-world-netns', paths.worldNetns,
    ...(spec.logLevel ? ['--log-level', spec.logLevel] : []),
    ...(spec.extraArgs ?? []),
  ]);
  const pid = await startDetached(argv, { logPath: paths.daemonLog });
  await writePidfile(paths.daemonPid, pid);
  await waitReady(spec, pid);
  return { pid, started: true };
}
