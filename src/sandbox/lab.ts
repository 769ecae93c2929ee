/**
 * Labs: several engine hosts at once, for multi-host networking (swarm, overlay). A lab `L` of N
 * hosts is N sandboxes `L1`..`LN` (sandbox.ts, each with its own redesd and state) whose `eth0` and
 * `eth1` are ports of two bridges they share:
 *   netns L-world  bridge br0 203.0.113.1/24 (DNS world.test, HTTP), ports h1..hN
 *                  host i has eth0 203.0.113.(10+i)
 *   netns L-lan    bridge br0 198.51.100.1/24 (HTTP), ports h1..hN; host i has eth1 198.51.100.(10+i)
 *   /run/redes-lab/L/  lab.json, world.pid/log, lan.pid/log, etcd/ (with --etcd, lab-etcd.ts)
 *   docker contexts `L-1`..`L-N` (the docker CLI's context store), one per host's socket
 *
 * Use: `await labUp({ name: 'lab', hosts: 3 })`, `docker --context lab-1 swarm init`,
 * `await labDown('lab')`.
 *
 * Beware:
 * - Lab names end with a letter (^[a-z]([a-z0-9]{0,6}[a-z])?$), so no host sandbox (`L` + digits) is
 *   named like a lab, and a lab named `L` refuses to start while a sandbox `L` exists: a sandbox owns
 *   every namespace `L-*`, so its `down` would take the lab's world and lan with it.
 * - `down` goes on after a failed step and reports every failure at the end; it finds hosts by the
 *   record and by namespace names, so it works after a crash half-way through `up`.
 * - Processes the engines start in their host namespace (etcd members) go with their sandbox.
 * - With `etcd: true` the lab runs one etcd member in its LAN namespace, started before the hosts,
 *   and every redesd gets --cluster-store/--cluster-advertise for it (no swarm): the choice is kept
 *   in the record, so a later `up` of the same lab keeps it.
 */
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { netnsDelete, netnsList, pidsInNetns, killPids, pidAlive, readPidfile, stopPid, run } from '../kernel/index.js';
import { invalidParameter } from '../util/index.js';
import { LAN_ADDR, WORLD_ADDR, sandboxPaths, type SharedSegments } from './layout.js';
import { clusterStoreArgs, ensureLabEtcd, stopLabEtcd } from './lab-etcd.js';
import { ensureSharedBridge } from './network.js';
import { LAN_SERVER_ARGS, WORLD_SERVER_ARGS, sandboxDown, sandboxList, sandboxUp, type DaemonState, type Progress } from './sandbox.js';
import { ensureServer, isOurServer } from './services.js';

export const LAB_NAME_PATTERN = /^[a-z](?:[a-z0-9]{0,6}[a-z])?$/;
export const DEFAULT_LAB = 'lab';
export const DEFAULT_HOSTS = 3;
export const MAX_HOSTS = 50;
/** Hosts started at once by `up`. */
const HOSTS_AT_ONCE = 4;
const LAB_ROOT = '/run/redes-lab';

const toStderr: Progress = (msg) => process.stderr.write(`redes lab: ${msg}\n`);

export function checkLabName(name: string): void {
  if (!LAB_NAME_PATTERN.test(name)) {
    throw invalidParameter('lab.name', `invalid lab name "${name}": must match ${LAB_NAME_PATTERN.source} (lowercase, 1 to 8 characters, ending with a letter)`);
  }
}

export interface LabPaths {
  dir: string;
  record: string;
  worldNetns: string;
  lanNetns: string;
  worldPid: string;
  worldLog: string;
  lanPid: string;
  lanLog: string;
}

export function labPaths(name: string): LabPaths {
  checkLabName(name);
  const dir = `${LAB_ROOT}/${name}`;
  return {
    dir,
    record: `${dir}/lab.json`,
    worldNetns: `${name}-world`,
    lanNetns: `${name}-lan`,
    worldPid: `${dir}/world.pid`,
    worldLog: `${dir}/world.log`,
    lanPid: `${dir}/lan.pid`,
    lanLog: `${dir}/lan.log`,
  };
}

export interface LabHost {
  index: number;
  /** The host's sandbox name (`L<index>`). */
  sandbox: string;
  /** The docker context (`L-<index>`). */
  context: string;
  dockerHost: string;
  lanAddr: string;
  worldAddr: string;
}

export interface LabRecord {
  version: 1;
  name: string;
  hosts: LabHost[];
  createdAt: string;
  /** The hosts use the lab's own etcd as cluster store (--etcd). */
  etcd?: boolean;
}

/** Host i (1-based) of lab `name`. */
export function labHost(name: string, index: number): LabHost {
  const sandbox = `${name}${index}`;
  return {
    index,
    sandbox,
    context: `${name}-${index}`,
    dockerHost: sandboxPaths(sandbox).dockerHost,
    lanAddr: `198.51.100.${10 + index}`,
    worldAddr: `203.0.113.${10 + index}`,
  };
}

async function readLabRecord(name: string): Promise<LabRecord | undefined> {
  try {
    const r = JSON.parse(await readFile(labPaths(name).record, 'utf8')) as LabRecord;
    return r.version === 1 && r.name === name ? r : undefined;
  } catch {
    return undefined;
  }
}

async function writeLabRecord(r: LabRecord): Promise<void> {
  const path = labPaths(r.name).record;
  await writeFile(`${path}.tmp`, `${JSON.stringify(r, null, 2)}\n`);
  await rename(`${path}.tmp`, path);
}

export interface LabUpOptions {
  name?: string;
  hosts?: number;
  /** The daemon's entry file (see sandbox UpOptions). */
  entry?: string;
  logLevel?: string;
  /** Extra redesd flags for every host. */
  daemonArgs?: string[];
  /** Run an etcd in the LAN namespace and start every redesd with --cluster-store on it. */
  etcd?: boolean;
  progress?: Progress;
}

/** Create (or complete) lab `name` with its hosts running; returns its record. */
export async function labUp(opts: LabUpOptions = {}): Promise<LabRecord> {
  const name = opts.name ?? DEFAULT_LAB;
  const p = labPaths(name);
  const say = opts.progress ?? toStderr;
  const prior = await readLabRecord(name);
  const count = opts.hosts ?? prior?.hosts.length ?? DEFAULT_HOSTS;
  if (!Number.isInteger(count) || count < 1 || count > MAX_HOSTS) {
    throw invalidParameter('lab.hosts', `invalid host count ${count}: from 1 to ${MAX_HOSTS}`);
  }
  const sandboxDir = await readdir(sandboxPaths(name).execRoot).then(() => true, () => false);
  if ((await netnsList()).includes(name) || sandboxDir) {
    throw invalidParameter('lab.name', `a sandbox named "${name}" exists: a lab of that name would share its namespaces`);
  }
  await mkdir(p.dir, { recursive: true, mode: 0o711 });
  const hosts = Array.from({ length: count }, (_, i) => labHost(name, i + 1));
  const etcd = opts.etcd ?? prior?.etcd ?? false;
  const record: LabRecord = { version: 1, name, hosts, createdAt: prior?.createdAt ?? new Date().toISOString(), ...(etcd ? { etcd } : {}) };
  await writeLabRecord(record);

  await ensureSharedBridge(p.worldNetns, WORLD_ADDR);
  await ensureSharedBridge(p.lanNetns, LAN_ADDR);
  await ensureServer(name, { netns: p.worldNetns, pidPath: p.worldPid, logPath: p.worldLog, args: WORLD_SERVER_ARGS }, await readPidfile(p.worldPid));
  await ensureServer(name, { netns: p.lanNetns, pidPath: p.lanPid, logPath: p.lanLog, args: LAN_SERVER_ARGS }, await readPidfile(p.lanPid));
  if (etcd) say('starting the lab\'s etcd (cluster store) on the LAN');
  const store = etcd ? await ensureLabEtcd(name, p.dir, p.lanNetns) : undefined;
  // A few hosts at a time: 20 daemons starting at once on 2 cores miss their /_ping deadline.
  await inBatches(hosts, HOSTS_AT_ONCE, async (h) => {
    const shared: SharedSegments = { worldNetns: p.worldNetns, lanNetns: p.lanNetns, port: `h${h.index}`, worldAddr: h.worldAddr, lanAddr: h.lanAddr };
    // Every host shares the machine's host name: each engine reports its context name instead.
    const daemonArgs = [`--hostname=${h.context}`, ...(store ? clusterStoreArgs(store, h.lanAddr) : []), ...(opts.daemonArgs ?? [])];
    const r = await sandboxUp({ name: h.sandbox, shared, entry: opts.entry, logLevel: opts.logLevel, daemonArgs, progress: (m) => say(`${h.sandbox}: ${m}`) });
    await ensureContext(h.context, r.dockerHost);
  });
  return record;
}

/** Runs `fn` over `items`, at most `width` at once; rejects with the first failure once all ended. */
async function inBatches<T>(items: readonly T[], width: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await fn(items[next++] as T);
  };
  const results = await Promise.allSettled(Array.from({ length: Math.min(width, items.length) }, worker));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}

async function ensureContext(context: string, dockerHost: string): Promise<void> {
  const inspect = await run(['docker', 'context', 'inspect', '--format', '{{.Endpoints.docker.Host}}', context], { allowFailure: true });
  if (inspect.code === 0 && inspect.stdout.trim() === dockerHost) return;
  if (inspect.code === 0) await run(['docker', 'context', 'rm', '--force', context]);
  await run(['docker', 'context', 'create', context, '--description', 'redes lab host', '--docker', `host=${dockerHost}`]);
}

/** The docker contexts of lab `name` (`name-<digits>`) that exist. */
async function labContexts(name: string): Promise<string[]> {
  const r = await run(['docker', 'context', 'ls', '--format', '{{.Name}}'], { allowFailure: true });
  const re = new RegExp(`^${name}-\\d+$`);
  return r.stdout.split('\n').map((l) => l.trim()).filter((l) => re.test(l));
}

/** Host sandboxes of lab `name` found by namespace or exec root (`name` + digits). */
async function labSandboxes(name: string): Promise<string[]> {
  const re = new RegExp(`^${name}\\d+$`);
  const found = new Set<string>();
  for (const ns of await netnsList()) if (re.test(ns)) found.add(ns);
  for (const d of await readdir('/run/redes').catch(() => [] as string[])) if (re.test(d)) found.add(d);
  return [...found].sort();
}

/**
 * Stop and remove everything of lab `name`: hosts (daemons, etcd members, containers, state),
 * contexts, servers, the shared namespaces, the lab directory. False when nothing was found.
 */
export async function labDown(name: string, opts: { progress?: Progress; graceMs?: number } = {}): Promise<boolean> {
  const p = labPaths(name);
  const say = opts.progress ?? toStderr;
  const record = await readLabRecord(name);
  const sandboxes = [...new Set([...(record?.hosts.map((h) => h.sandbox) ?? []), ...(await labSandboxes(name))])];
  const contexts = await labContexts(name);
  const namespaces = (await netnsList()).filter((n) => n === p.worldNetns || n === p.lanNetns);
  const dirExists = await readdir(p.dir).then(() => true, () => false);
  if (!record && !sandboxes.length && !contexts.length && !namespaces.length && !dirExists) return false;
  const failures: string[] = [];
  const step = async (what: string, fn: () => Promise<unknown>): Promise<void> => {
    try {
      await fn();
    } catch (e) {
      failures.push(`${what}: ${e instanceof Error ? e.message : String(e)}`);
    }
  };
  await Promise.all(sandboxes.map((s) => step(`remove host ${s}`, () => sandboxDown(s, { graceMs: opts.graceMs, progress: (m) => say(`${s}: ${m}`) }))));
  for (const c of contexts) await step(`remove docker context ${c}`, () => run(['docker', 'context', 'rm', '--force', c]));
  await step('stop servers', async () => {
    for (const pidPath of [p.worldPid, p.lanPid]) {
      const pid = await readPidfile(pidPath);
      if (pid !== undefined && (await pidAlive(pid)) && (await isOurServer(pid, name))) await stopPid(pid, { graceMs: 2_000 });
    }
  });
  await step('stop the lab\'s etcd', () => stopLabEtcd(p.dir));
  for (const ns of namespaces) {
    await step(`delete netns ${ns}`, async () => {
      await killPids(await pidsInNetns(ns));
      await netnsDelete(ns);
    });
  }
  await step(`remove ${p.dir}`, () => rm(p.dir, { recursive: true, force: true }));
  if (failures.length) throw new Error(`down of lab "${name}" failed:\n  ${failures.join('\n  ')}`);
  return true;
}

export interface LabInfo {
  name: string;
  hosts: { sandbox: string; context: string; state: DaemonState; lanAddr: string }[];
}

/** Every lab on the machine (by its directory). */
export async function labList(): Promise<LabInfo[]> {
  const out: LabInfo[] = [];
  const sandboxes = new Map((await sandboxList()).map((s) => [s.name, s]));
  for (const d of (await readdir(LAB_ROOT).catch(() => [] as string[])).sort()) {
    if (!LAB_NAME_PATTERN.test(d)) continue;
    const r = await readLabRecord(d);
    const hosts = (r?.hosts ?? []).map((h) => ({ sandbox: h.sandbox, context: h.context, state: sandboxes.get(h.sandbox)?.state ?? ('stopped' as const), lanAddr: h.lanAddr }));
    out.push({ name: d, hosts });
  }
  return out;
}
