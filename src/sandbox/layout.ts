/**
 * What a sandbox is made of: its names, addresses and files, and its record (sandbox.json).
 *
 * A sandbox `N` is:
 *   netns N          the engine host; `lo`, `eth0` 203.0.113.2/24 (default route via .1),
 *                    with --lan also `eth1` 198.51.100.2/24
 *   netns N-world    the outside world; `uplink` 203.0.113.1/24, DNS on :53 and HTTP on :80
 *   netns N-lan      (--lan) bridge `br0` 198.51.100.1/24 with port `host0`, HTTP on :80
 *   /run/redes/N/    exec root: docker.sock, redesd.pid, redesd.log, world.pid, world.log, lan.pid,
 *                    lan.log, resolv.conf, sandbox.json, runc/ (the daemon's runc state)
 *   /var/lib/redes/N data root of the daemon
 *   cgroups N        /sys/fs/cgroup/<controller>/N, made by runc for the daemon's containers
 * Every namespace the daemon adds is named `N-...`, which is why names match ^[a-z][a-z0-9]{0,11}$:
 * no other sandbox's name starts with `N-`.
 *
 * Beware: sandbox.json is a record for people and for `down`; the pidfiles are the source of truth
 * for PIDs, and `down` works without either.
 */
import { readFile, rename, writeFile } from 'node:fs/promises';
import { invalidParameter } from '../util/index.js';

export const NAME_PATTERN = /^[a-z][a-z0-9]{0,11}$/;
export const DEFAULT_NAME = 'redes';

export const HOST_IF = 'eth0';
export const HOST_ADDR = '203.0.113.2';
export const WORLD_IF = 'uplink';
export const WORLD_ADDR = '203.0.113.1';
export const UPLINK_PREFIX_LEN = 24;
export const WORLD_DOMAIN = 'world.test';

export const HOST_LAN_IF = 'eth1';
export const HOST_LAN_ADDR = '198.51.100.2';
export const LAN_PORT_IF = 'host0';
export const LAN_BRIDGE = 'br0';
export const LAN_ADDR = '198.51.100.1';
export const LAN_PREFIX_LEN = 24;

export const WORLD_TEXT = 'hello from world';
export const LAN_TEXT = 'hello from lan';

export function checkName(name: string): void {
  if (!NAME_PATTERN.test(name)) {
    throw invalidParameter(
      'sandbox.name',
      `invalid sandbox name "${name}": must match ${NAME_PATTERN.source} (a lowercase letter, then up to 11 lowercase letters or digits)`,
    );
  }
}

export interface SandboxPaths {
  hostNetns: string;
  worldNetns: string;
  lanNetns: string;
  execRoot: string;
  dataRoot: string;
  socket: string;
  dockerHost: string;
  daemonPid: string;
  daemonLog: string;
  worldPid: string;
  worldLog: string;
  lanPid: string;
  lanLog: string;
  resolvConf: string;
  record: string;
  runcRoot: string;
}

export function sandboxPaths(name: string): SandboxPaths {
  checkName(name);
  const execRoot = `/run/redes/${name}`;
  const socket = `${execRoot}/docker.sock`;
  return {
    hostNetns: name,
    worldNetns: `${name}-world`,
    lanNetns: `${name}-lan`,
    execRoot,
    dataRoot: `/var/lib/redes/${name}`,
    socket,
    dockerHost: `unix://${socket}`,
    daemonPid: `${execRoot}/redesd.pid`,
    daemonLog: `${execRoot}/redesd.log`,
    worldPid: `${execRoot}/world.pid`,
    worldLog: `${execRoot}/world.log`,
    lanPid: `${execRoot}/lan.pid`,
    lanLog: `${execRoot}/lan.log`,
    resolvConf: `${execRoot}/resolv.conf`,
    record: `${execRoot}/sandbox.json`,
    runcRoot: `${execRoot}/runc`,
  };
}

/** The line `up` prints, for `eval "$(redes sandbox up)"`. */
export function exportLine(name: string): string {
  return `export DOCKER_HOST=${sandboxPaths(name).dockerHost}`;
}

/**
 * A sandbox that is one host of a lab: instead of a world and a lan of its own, its `eth0` and `eth1`
 * are ports (named `port`) of bridges in namespaces it shares with the lab's other hosts.
 */
export interface SharedSegments {
  worldNetns: string;
  lanNetns: string;
  /** The host's veth end on both shared bridges (unique in the lab, short: `h1`, `h2`, ...). */
  port: string;
  /** The host's eth0 address on the shared world (203.0.113.0/24). */
  worldAddr: string;
  /** The host's eth1 address on the shared lan (198.51.100.0/24). */
  lanAddr: string;
}

/** sandbox.json: what `up` made, rewritten by every `up`. */
export interface SandboxRecord {
  version: 1;
  name: string;
  lan: boolean;
  createdAt: string;
  updatedAt: string;
  netns: string[];
  links: { netns: string; name: string; address?: string }[];
  pids: { daemon?: number; world?: number; lan?: number };
  daemonEntry: string;
  /** Set when the sandbox is a lab host (see SharedSegments). */
  shared?: SharedSegments;
  /** Extra redesd flags given with `up --daemon-arg`, used again whenever the daemon is (re)started. */
  daemonArgs?: string[];
  dockerHost: string;
  dataRoot: string;
  execRoot: string;
}

export async function readRecord(name: string): Promise<SandboxRecord | undefined> {
  try {
    const parsed = JSON.parse(await readFile(sandboxPaths(name).record, 'utf8')) as SandboxRecord;
    return parsed.version === 1 && parsed.name === name ? parsed : undefined;
  } catch {
    return undefined;
  }
}

export async function writeRecord(record: SandboxRecord): Promise<void> {
  const path = sandboxPaths(record.name).record;
  await writeFile(`${path}.tmp`, `${JSON.stringify(record, null, 2)}\n`);
  await rename(`${path}.tmp`, path);
}
