/**
 * Sandboxes: an engine host namespace with a simulated outside world, in which redesd runs.
 * Every test and user trial of the daemon goes through here, so the machine's root namespace is
 * never touched. Layout and addresses: layout.ts.
 *
 * Use: `const { exportLine } = await sandboxUp({ name: 'x' })`, then talk to the daemon on
 * /run/redes/x/docker.sock; `sandboxDown('x')` removes everything.
 *
 * Beware:
 * - `up` is a list of ensure-steps: run on a running sandbox it changes nothing, on a half-made one
 *   it makes what is missing (and restarts the daemon if it died).
 * - `down` goes on after a failed step and reports every failure at the end. It finds leftovers by
 *   name (namespaces `N`, `N-*`, cgroups `N`, the two directories) and by place (processes in those
 *   namespaces or cgroups), so it works after a kill -9 or a start that never finished.
 * - Two calls on the same sandbox at once are not supported (no lock).
 */
import { ensureRegistry, stopRegistry, REGISTRY_HOST, REGISTRY_NAME } from './registry.js';
import { ensureUplinkProxy, stopUplinkProxy, uplinkSocket } from './uplink.js';
import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { netnsId, netnsList, netnsDelete, nsenterArgv, pidsInNetnsAll, netnsDeleteMany, killPids, pidAlive, readPidfile, runInherit, stopPid, mountsUnder, unmountAllUnder, cgroupTreeDirs, cgroupTreePids, removeCgroupTree, thawCgroupTree, wireguardIfname, wireguardSocket } from '../kernel/index.js';
import { runcDelete, runcList } from '../runtime/index.js';
import { notFound } from '../util/index.js';
import * as L from './layout.js';
import { ensureLan, ensureNetns, ensureUplink } from './network.js';
import { daemonEntry, ensureDaemon, ensureServer, isOurDaemon, isOurServer, ping } from './services.js';

export type Progress = (msg: string) => void;
const toStderr: Progress = (msg) => process.stderr.write(`redes sandbox: ${msg}\n`);

export interface UpOptions {
  /** Default `redes`. */
  name?: string;
  /** Also make the lan `N-lan` on the host's eth1. A sandbox once made with a lan keeps it. */
  lan?: boolean;
  /** The daemon's entry file (default: $REDESD_ENTRY, else dist/src/cli/redesd.js). */
  entry?: string;
  /** Passed to the daemon as `--log-level`. */
  logLevel?: string;
  /**
   * Extra redesd flags (e.g. `--icc=false`), kept in sandbox.json and used again by later `up`s that
   * give none. The flags the sandbox sets itself (--prefix, -H, --data-root, --exec-root) are refused.
   */
  daemonArgs?: string[];
  /** Milliseconds to wait for the daemon's /_ping (default 60 s: at load 22 on the 2 cores, redesd took 6-11 s just to load its modules and lab hosts missed 20 s; a daemon that dies fails at once). */
  readyTimeoutMs?: number;
  /**
   * Make the sandbox a host of a lab (lab.ts): its world and lan are the lab's, shared with other
   * hosts, and run no server of the sandbox's own. Kept in sandbox.json for later `up`s.
   */
  shared?: L.SharedSegments;
  /** Start the registry `registry.test:5000` in the world (default true; never for lab hosts). */
  registry?: boolean;
  /** An htpasswd file: the registry then asks for Basic credentials. */
  registryHtpasswd?: string;
  /**
   * The daemon's registry connections leave through the caller's network namespace (uplink.ts):
   * for a user's machine with internet; tests never set it.
   */
  uplink?: boolean;
  progress?: Progress;
}

export interface UpResult {
  name: string;
  dockerHost: string;
  /** `export DOCKER_HOST=unix:///run/redes/N/docker.sock` */
  exportLine: string;
  daemonPid: number;
  /** False when the sandbox was complete and running already. */
  changed: boolean;
}

/** Create, or complete and start, sandbox `name`. */
export async function sandboxUp(opts: UpOptions = {}): Promise<UpResult> {
  const name = opts.name ?? L.DEFAULT_NAME;
  const p = L.sandboxPaths(name);
  const say = opts.progress ?? toStderr;
  const prior = await L.readRecord(name);
  const shared = opts.shared ?? prior?.shared;
  // A lan once made stays, even when the `up` that made it failed before writing the record.
  const lan = !!shared || (opts.lan ?? false) || (prior?.lan ?? false) || (await netnsList()).includes(p.lanNetns);
  await mkdir(p.execRoot, { recursive: true, mode: 0o711 });
  await mkdir(p.dataRoot, { recursive: true, mode: 0o711 });

  const namespaces = shared ? [p.hostNetns] : [p.hostNetns, p.worldNetns, ...(lan ? [p.lanNetns] : [])];
  const made: string[] = [];
  for (const ns of namespaces) if (await ensureNetns(ns)) made.push(ns);
  if (made.length) say(`created netns ${made.join(', ')}`);
  await ensureUplink(p, shared);
  if (lan) await ensureLan(p, shared);
  await writeIfChanged(p.resolvConf, `nameserver ${L.WORLD_ADDR}\n`);

  const entry = daemonEntry(opts.entry);
  let daemonArgs = opts.daemonArgs ?? prior?.daemonArgs ?? [];
  checkDaemonArgs(daemonArgs);
  const uplinkArg = `--registry-uplink=${uplinkSocket(p)}`;
  if (opts.uplink && !shared) {
    const up = await ensureUplinkProxy(p);
    if (up.started) say(`started uplink proxy (pid ${up.pid}): registry connections leave through this namespace`);
    if (!daemonArgs.includes(uplinkArg)) daemonArgs = [...daemonArgs, uplinkArg];
  } else if (daemonArgs.includes(uplinkArg)) {
    await ensureUplinkProxy(p); // recorded by an earlier `up --uplink`
  }
  // Recorded before anything starts, so a failed start still leaves the record `down` and `up` read.
  await L.writeRecord({ ...makeRecord(p, lan, entry, prior?.createdAt, prior?.pids ?? {}, shared), daemonArgs });
  // The servers and the daemon start in parallel: each is a node start of ~50-100 ms.
  const [world, lanServer, daemon] = await Promise.all([
    shared ? undefined : ensureServer(name, worldSpec(p), await readPidfile(p.worldPid)),
    lan && !shared ? ensureServer(name, lanSpec(p), await readPidfile(p.lanPid)) : undefined,
    ensureDaemon({ name, paths: p, entry, logLevel: opts.logLevel, extraArgs: daemonArgs, readyTimeoutMs: opts.readyTimeoutMs ?? 60_000 }, await readPidfile(p.daemonPid)),
  ]);
  if (world?.started) say(`started world server (pid ${world.pid})`);
  if (!shared && opts.registry !== false) {
    const reg = await ensureRegistry(p, L.WORLD_ADDR, { htpasswd: opts.registryHtpasswd });
    if (reg.started) say(`started registry ${REGISTRY_HOST} (pid ${reg.pid})`);
  }
  if (lanServer?.started) say(`started lan server (pid ${lanServer.pid})`);
  if (daemon.started) say(`started redesd (pid ${daemon.pid}, log ${p.daemonLog})`);

  const runningEntry = daemon.started ? entry : (prior?.daemonEntry ?? entry);
  const pids = { daemon: daemon.pid, world: world?.pid, lan: lanServer?.pid };
  await L.writeRecord({ ...makeRecord(p, lan, runningEntry, prior?.createdAt, pids, shared), daemonArgs });
  const changed = made.length > 0 || !!world?.started || !!lanServer?.started || daemon.started;
  return { name, dockerHost: p.dockerHost, exportLine: L.exportLine(name), daemonPid: daemon.pid, changed };
}

/** The sandbox's own daemon flags cannot be overridden: `down` and `up` find the daemon by them. */
const OWN_FLAGS = ['--prefix', '-H', '--host', '--data-root', '--exec-root'];

function checkDaemonArgs(args: readonly string[]): void {
  for (const a of args) {
    // Extra tcp:// listeners are the user's; the unix socket stays the sandbox's.
    if (/^(-H|--host)=tcp:\/\//.test(a)) continue;
    if (OWN_FLAGS.some((f) => a === f || a.startsWith(`${f}=`))) {
      throw new Error(`daemon flag ${JSON.stringify(a)} is set by the sandbox itself and cannot be given with --daemon-arg`);
    }
  }
}

function makeRecord(
  p: L.SandboxPaths,
  lan: boolean,
  entry: string,
  createdAt: string | undefined,
  pids: L.SandboxRecord['pids'],
  shared: L.SharedSegments | undefined,
): L.SandboxRecord {
  const now = new Date().toISOString();
  const addr = (a: string, len: number): string => `${a}/${len}`;
  const common = { version: 1 as const, name: p.hostNetns, lan, createdAt: createdAt ?? now, updatedAt: now, pids, daemonEntry: entry, dockerHost: p.dockerHost, dataRoot: p.dataRoot, execRoot: p.execRoot };
  if (shared) {
    return {
      ...common,
      shared,
      netns: [p.hostNetns],
      links: [
        { netns: p.hostNetns, name: L.HOST_IF, address: addr(shared.worldAddr, L.UPLINK_PREFIX_LEN) },
        { netns: p.hostNetns, name: L.HOST_LAN_IF, address: addr(shared.lanAddr, L.LAN_PREFIX_LEN) },
        { netns: shared.worldNetns, name: shared.port },
        { netns: shared.lanNetns, name: shared.port },
      ],
    };
  }
  return {
    ...common,
    netns: [p.hostNetns, p.worldNetns, ...(lan ? [p.lanNetns] : [])],
    links: [
      { netns: p.hostNetns, name: L.HOST_IF, address: addr(L.HOST_ADDR, L.UPLINK_PREFIX_LEN) },
      { netns: p.worldNetns, name: L.WORLD_IF, address: addr(L.WORLD_ADDR, L.UPLINK_PREFIX_LEN) },
      ...(lan
        ? [
            { netns: p.hostNetns, name: L.HOST_LAN_IF, address: addr(L.HOST_LAN_ADDR, L.LAN_PREFIX_LEN) },
            { netns: p.lanNetns, name: L.LAN_PORT_IF },
            { netns: p.lanNetns, name: L.LAN_BRIDGE, address: addr(L.LAN_ADDR, L.LAN_PREFIX_LEN) },
          ]
        : []),
    ],
  };
}

/** The world server's arguments: DNS for world.test and HTTP, on the world's address. */
export const WORLD_SERVER_ARGS = ['--dns', L.WORLD_ADDR, '--zone', `${L.WORLD_DOMAIN}=${L.WORLD_ADDR}`, '--zone', `${REGISTRY_NAME}=${L.WORLD_ADDR}`, '--http', L.WORLD_ADDR, '--text', L.WORLD_TEXT];
/** The lan server's arguments: HTTP on the lan's own address. */
export const LAN_SERVER_ARGS = ['--http', L.LAN_ADDR, '--text', L.LAN_TEXT];

function worldSpec(p: L.SandboxPaths) {
  return { netns: p.worldNetns, pidPath: p.worldPid, logPath: p.worldLog, args: WORLD_SERVER_ARGS };
}

function lanSpec(p: L.SandboxPaths) {
  return { netns: p.lanNetns, pidPath: p.lanPid, logPath: p.lanLog, args: LAN_SERVER_ARGS };
}

async function writeIfChanged(path: string, text: string): Promise<void> {
  if ((await readFile(path, 'utf8').catch(() => undefined)) !== text) await writeFile(path, text);
}

const exists = (path: string): Promise<boolean> => stat(path).then(() => true, () => false);

/** The namespaces of sandbox `name`: `N` and every `N-*` (the daemon's included), `N` last. */
async function sandboxNetns(name: string): Promise<string[]> {
  const all = await netnsList();
  return [...all.filter((n) => n.startsWith(`${name}-`)), ...all.filter((n) => n === name)];
}

export interface DownOptions {
  /** Milliseconds between SIGTERM and SIGKILL for the daemon (default 10 s). */
  graceMs?: number;
  progress?: Progress;
}

/**
 * Stop and remove everything of sandbox `name`. Returns false when there was nothing to remove.
 * Throws one error listing every step that failed, after trying all of them.
 */
export async function sandboxDown(name: string, opts: DownOptions = {}): Promise<boolean> {
  const p = L.sandboxPaths(name);
  const say = opts.progress ?? toStderr;
  const found =
    (await exists(p.execRoot)) || (await exists(p.dataRoot)) ||
    (await sandboxNetns(name)).length > 0 || (await cgroupTreeDirs(name)).length > 0;
  if (!found) return false;
  const record = await L.readRecord(name);
  const failures: string[] = [];
  const step = async (what: string, fn: () => Promise<unknown>): Promise<void> => {
    try {
      await fn();
    } catch (e) {
      failures.push(`${what}: ${e instanceof Error ? e.message : String(e)}`);
    }
  };
  const recorded = async (pidPath: string, fromRecord: number | undefined): Promise<number[]> =>
    [...new Set([await readPidfile(pidPath), fromRecord].filter((x): x is number => x !== undefined))];

  await step('stop redesd', async () => {
    for (const pid of await recorded(p.daemonPid, record?.pids.daemon)) {
      if ((await pidAlive(pid)) && (await isOurDaemon(pid, name))) {
        say(`stopping redesd (pid ${pid}): ${await stopPid(pid, { graceMs: opts.graceMs ?? 10_000 })}`);
      }
    }
  });
  await step('stop servers', async () => {
    await stopRegistry(p);
    await stopUplinkProxy(p);
    const pids = [...(await recorded(p.worldPid, record?.pids.world)), ...(await recorded(p.lanPid, record?.pids.lan))];
    for (const pid of pids) if ((await pidAlive(pid)) && (await isOurServer(pid, name))) await stopPid(pid, { graceMs: 2_000 });
  });
  // Whatever still runs in the sandbox's namespaces was started by the sandbox or its daemon: the
  // containers' shims among them, killed first so that none runs its own `runc delete` meanwhile.
  await step('kill namespace processes', async () => {
    await killPids(await pidsInNetnsAll(await sandboxNetns(name)));
  });
  // Encrypted overlays' wireguard-go (killed above) cannot remove its control socket, which lives in
  // a directory every namespace of the machine shares: the daemon's interface is named after its prefix.
  await step('remove the WireGuard socket', () => rm(wireguardSocket(wireguardIfname(name)), { force: true }));
  await step('kill cgroup processes', async () => {
    await thawCgroupTree(name);
    await killPids(await cgroupTreePids(name));
  });
  await step('delete containers', () => deleteRuncContainers(p.runcRoot));
  let unmounted = true;
  for (const dir of [p.dataRoot, p.execRoot]) {
    await step(`unmount under ${dir}`, () => unmountAllUnder(dir).catch((e: unknown) => {
      unmounted = false;
      throw e;
    }));
  }
  await step('remove cgroups', () => removeCgroupTree(name));
  // The host namespace last: the daemon's (containers') namespaces first, all at once.
  const namespaces = await sandboxNetns(name);
  await step('delete netns', () => netnsDeleteMany(namespaces.filter((ns) => ns !== name)));
  await step(`delete netns ${name}`, () => netnsDelete(name));
  // Never remove a tree with something mounted inside: rm would delete the mounted files too.
  if (unmounted) {
    for (const dir of [p.execRoot, p.dataRoot]) {
      await step(`remove ${dir}`, async () => {
        if ((await mountsUnder(dir)).length === 0) await rm(dir, { recursive: true, force: true });
      });
    }
  }
  if (failures.length) throw new Error(`down of sandbox "${name}" failed:\n  ${failures.join('\n  ')}`);
  return true;
}

/**
 * `runc delete --force` for the containers that still have a process. Once every process of the
 * sandbox is dead (the steps before), runc reports its containers stopped and deleting them would
 * only remove their cgroups and state directories, which the later steps remove for all at once: at
 * 60-300 ms a runc run on these machines, hundreds of sequential deletes took minutes.
 */
async function deleteRuncContainers(runcRoot: string): Promise<void> {
  if (!(await exists(runcRoot))) return;
  const rc = { root: runcRoot };
  for (const c of await runcList(rc)) if (c.status !== 'stopped') await runcDelete(rc, c.id);
}

export type DaemonState = 'running' | 'unresponsive' | 'stopped';

export interface SandboxInfo {
  name: string;
  state: DaemonState;
  daemonPid?: number;
  dockerHost: string;
  lan: boolean;
}

/** Every sandbox on the machine, found by its exec root or its world namespace. */
export async function sandboxList(): Promise<SandboxInfo[]> {
  const names = new Set<string>();
  for (const d of await readdir('/run/redes').catch(() => [] as string[])) if (L.NAME_PATTERN.test(d)) names.add(d);
  for (const ns of await netnsList()) {
    const m = /^([a-z][a-z0-9]{0,11})-world$/.exec(ns);
    // A lab's shared world (lab.ts) is not a sandbox's.
    if (m?.[1] && !(await exists(`/run/redes-lab/${m[1]}`))) names.add(m[1]);
  }
  const out: SandboxInfo[] = [];
  for (const name of [...names].sort()) {
    const p = L.sandboxPaths(name);
    const pid = await readPidfile(p.daemonPid);
    const alive = pid !== undefined && (await pidAlive(pid)) && (await isOurDaemon(pid, name));
    const state: DaemonState = !alive ? 'stopped' : (await ping(p.socket, 500)) ? 'running' : 'unresponsive';
    const lan = (await L.readRecord(name))?.lan ?? (await netnsList()).includes(p.lanNetns);
    out.push({ name, state, daemonPid: alive ? pid : undefined, dockerHost: p.dockerHost, lan });
  }
  return out;
}

async function execIn(netns: string, argv: readonly string[]): Promise<number> {
  if (!(await netnsId(netns))) throw notFound('sandbox.not_found', `sandbox netns "${netns}" not found`);
  return runInherit(nsenterArgv(netns, argv));
}

/** Run `argv` in the engine host namespace of sandbox `name`, with inherited stdio; its exit code. */
export function sandboxExec(name: string, argv: readonly string[]): Promise<number> {
  return execIn(L.sandboxPaths(name).hostNetns, argv);
}

/** Run `argv` in the world namespace of sandbox `name`, with inherited stdio; its exit code. */
export function sandboxWorld(name: string, argv: readonly string[]): Promise<number> {
  return execIn(L.sandboxPaths(name).worldNetns, argv);
}

/** Run `argv` in the lan namespace of sandbox `name` (made by `up --lan`), with inherited stdio. */
export function sandboxLan(name: string, argv: readonly string[]): Promise<number> {
  return execIn(L.sandboxPaths(name).lanNetns, argv);
}
