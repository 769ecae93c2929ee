/**
 * WireGuard for encrypted overlay networks: one interface per host that carries the VXLAN traffic of
 * every encrypted network between hosts, addressed in a private tunnel range, so the LAN only ever
 * sees WireGuard UDP. The kernel module is used when the kernel has it; otherwise Debian's
 * `wireguard-go` (a TUN device served by a userspace process). Both are configured the same way,
 * with `wg` (wireguard-tools), which finds wireguard-go's control socket by itself.
 *
 * Use: `wireguardSupport()` once; `ensureWireguard(spec)`; `syncWireguardPeers(ifname, peers)` once,
 * then `changeWireguardPeers(ifname, set, remove)` as hosts come and go; `removeWireguard(ifname)`. Keys come from `generatePrivateKey`/`publicKeyOf`
 * (X25519 in Node, no process).
 *
 * Beware:
 * - wireguard-go's control socket `/var/run/wireguard/<ifname>.sock` is shared by every namespace of
 *   the machine: interface names must be unique machine-wide, not only in their namespace.
 * - wireguard-go takes every argument but `-f`/`--version` as an interface name; it runs until its
 *   interface is deleted, so `removeWireguard` (a link delete) is also how the process ends.
 * - Never create a VXLAN with `dev <wg-if>` (wireguard-go dies); route to the tunnel addresses.
 * - The private key reaches `wg` through a file only root can read, removed at once, never on a command
 *   line (`/dev/stdin` does not work: Node's stdio pipes are sockets, which cannot be opened by path).
 */
import { createHash, createPrivateKey, createPublicKey, randomBytes } from 'node:crypto';
import { constants as fsc } from 'node:fs';
import { access, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { logger } from '../util/index.js';
import { ipBatch, ipJson, type IpCommand, type IpLink } from './ip.js';
import { nsenterArgv } from './netns.js';
import { setUdpBuffersOf } from './netns-socket.js';
import { pidCmdline } from './process.js';
import { CommandError, run } from './run.js';

const log = logger.child({ component: 'wireguard' });

/** The WireGuard interface of an engine instance: unique on the machine (wireguard-go's sockets are shared). */
export const wireguardIfname = (instance: string): string => `wg-${createHash('sha256').update(instance).digest('hex').slice(0, 12)}`;

/** wireguard-go's control socket of an interface (one directory for every namespace of the machine). */
export const wireguardSocket = (ifname: string): string => `/var/run/wireguard/${ifname}.sock`;

export type WireguardKind = 'kernel' | 'wireguard-go';

/** Bytes WireGuard adds on an IPv4 underlay: IP 20 + UDP 8 + WireGuard header and tag 32. */
export const WIREGUARD_OVERHEAD = 60;

/** The userspace WireGuard looked up on PATH when the engine is given none (redesd --wireguard-go). */
export const WG_GO = 'wireguard-go';
const WG = 'wg';

const inNetns = (argv: string[], netns?: string): string[] => (netns ? nsenterArgv(netns, argv) : argv);
const stderrOf = (e: unknown): string => (e instanceof CommandError ? e.result.stderr.trim() : (e as Error).message);

async function onPath(program: string): Promise<boolean> {
  for (const dir of (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(':')) {
    if (await access(`${dir}/${program}`).then(() => true, () => false)) return true;
  }
  return false;
}

/**
 * Which WireGuard this host can use, or the reason it has none (a sentence for the user's error).
 * The kernel module is probed by making and deleting a throwaway link in `netns`. `wireguardGo`: the
 * userspace program used without the module, a name looked up on PATH or an absolute path.
 */
export async function wireguardSupport(netns?: string, wireguardGo = WG_GO): Promise<{ kind: WireguardKind } | { missing: string }> {
  if (!(await onPath(WG))) return { missing: 'the wg program (wireguard-tools) is not installed' };
  const probe = `wgprobe${randomBytes(3).toString('hex')}`;
  try {
    await ipBatch([['link', 'add', 'name', probe, 'type', 'wireguard']], netns);
    await ipBatch([['link', 'del', 'dev', probe]], netns).catch(() => undefined);
    return { kind: 'kernel' };
  } catch {
    // No module: userspace below.
  }
  if (wireguardGo.includes('/')) {
    if (!(await access(wireguardGo, fsc.X_OK).then(() => true, () => false))) return { missing: `the kernel has no WireGuard module and there is no executable wireguard-go at ${wireguardGo}` };
  } else if (!(await onPath(wireguardGo))) {
    return { missing: `the kernel has no WireGuard module and ${wireguardGo} is not installed` };
  }
  if (!(await access('/dev/net/tun').then(() => true, () => false))) return { missing: 'the kernel has no WireGuard module and /dev/net/tun is missing for wireguard-go' };
  return { kind: 'wireguard-go' };
}

// An X25519 private key as PKCS#8 DER is this fixed prefix plus the 32 raw bytes.
const PKCS8_X25519 = Buffer.from('302e020100300506032b656e04220420', 'hex');

/** A new private key, base64 (WireGuard's text form). */
export function generatePrivateKey(): string {
  const k = randomBytes(32);
  // Clamped as WireGuard does, so the stored key is the one `wg genkey` would print.
  k[0] = (k[0] ?? 0) & 248;
  k[31] = ((k[31] ?? 0) & 127) | 64;
  return k.toString('base64');
}

export function publicKeyOf(privateKey: string): string {
  const raw = Buffer.from(privateKey, 'base64');
  if (raw.length !== 32) throw new Error('wireguard: a private key is 32 bytes, base64');
  const key = createPrivateKey({ key: Buffer.concat([PKCS8_X25519, raw]), format: 'der', type: 'pkcs8' });
  const jwk = createPublicKey(key).export({ format: 'jwk' });
  return Buffer.from(jwk.x ?? '', 'base64url').toString('base64');
}

async function withKeyFile<T>(key: string, fn: (file: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'redes-wgkey-'));
  try {
    const file = join(dir, 'key');
    await writeFile(file, `${key}\n`, { mode: 0o600 });
    return await fn(file);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export interface WireguardInterface {
  ifname: string;
  privateKey: string;
  listenPort: number;
  /** Tunnel address with the tunnel range's prefix length, e.g. "169.254.192.1/18". */
  address: string;
  mtu: number;
  /** ifalias marking the link as ours. */
  alias: string;
}

export interface WireguardPeer {
  publicKey: string;
  /** "ADDR:PORT" on the underlay. */
  endpoint: string;
  /** The peer's tunnel address, "/32". */
  allowedIp: string;
}

interface LinkDetails extends IpLink {
  ifalias?: string;
}

/**
 * Makes (or keeps) the interface, with its key, port, address and MTU. Returns which WireGuard serves
 * it. Throws a sentence naming what is missing when the host has no WireGuard at all.
 */
export async function ensureWireguard(spec: WireguardInterface, netns?: string, wireguardGo = WG_GO): Promise<WireguardKind> {
  const support = await wireguardSupport(netns, wireguardGo);
  if ('missing' in support) throw new Error(`no WireGuard on this host: ${support.missing}`);
  const found = (await ipJson<LinkDetails[]>(['-details', 'link', 'show', 'dev', spec.ifname], netns).catch(() => [] as LinkDetails[]))[0];
  if (found && found.ifalias !== spec.alias) throw new Error(`interface ${spec.ifname} exists and is not a WireGuard link of ours`);
  if (!found) {
    if (support.kind === 'kernel') await ipBatch([['link', 'add', 'name', spec.ifname, 'type', 'wireguard']], netns);
    else await run(inNetns([wireguardGo, spec.ifname], netns), { timeoutMs: 10_000 });
  }
  try {
    await withKeyFile(spec.privateKey, (file) => run(inNetns([WG, 'set', spec.ifname, 'private-key', file, 'listen-port', String(spec.listenPort)], netns)));
    const cmds: IpCommand[] = [
      ['link', 'set', 'dev', spec.ifname, 'alias', spec.alias],
      ['link', 'set', 'dev', spec.ifname, 'mtu', String(spec.mtu)],
      // wireguard-go's TUN device queues what the kernel sends until wireguard-go reads it, in a ring
      // of txqueuelen packets (500 by default): at the head of a burst it overflowed (TX dropped, one
      // TCP retransmit each, bench/results/wireguard.md). The kernel module's device has no queue.
      ...(support.kind === 'wireguard-go' ? [['link', 'set', 'dev', spec.ifname, 'txqueuelen', String(WIREGUARD_GO_TXQUEUELEN)] as IpCommand] : []),
      ['addr', 'replace', spec.address, 'dev', spec.ifname],
      ['link', 'set', 'dev', spec.ifname, 'up'],
    ];
    await ipBatch(cmds, netns);
  } catch (e) {
    if (!found) await removeWireguard(spec.ifname, netns);
    throw new Error(`configure WireGuard interface ${spec.ifname} failed: ${stderrOf(e)}`, { cause: e });
  }
  if (support.kind === 'wireguard-go') {
    const sized = await sizeWireguardGoSockets(wireguardGo, spec.ifname);
    if (!sized) log.warn({ ifname: spec.ifname }, "wireguard-go's UDP sockets keep the default buffers: bursts will be dropped and TCP inside the tunnel slows down");
  }
  return support.kind;
}

/**
 * Receive and send buffer of wireguard-go's UDP sockets. Debian's wireguard-go (0.0.20220316) leaves
 * them at the namespace's default, 212992 bytes (about 140 packets): whenever it falls behind for a
 * moment, the kernel drops a whole burst (UdpRcvbufErrors), and TCP inside the tunnel retransmitted
 * 10-15 % of its segments between two namespaces here (bench/results/wireguard.md). wireguard-go
 * since 0.0.20230223 asks for 7 MiB itself; this gives the older one the same from outside.
 */
export const WIREGUARD_GO_SOCKET_BUFFER = 7 << 20;

/** Packets the TUN device of wireguard-go holds for it (ip link txqueuelen; the default is 500). */
export const WIREGUARD_GO_TXQUEUELEN = 4096;

/** The wireguard-go process serving `ifname` (interface names are unique on the machine). */
async function wireguardGoPid(program: string, ifname: string): Promise<number | undefined> {
  for (const d of await readdir('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const argv = await pidCmdline(Number(d));
    if (argv?.length === 2 && argv[1] === ifname && basename(argv[0] ?? '') === basename(program)) return Number(d);
  }
  return undefined;
}

/** Sizes wireguard-go's UDP sockets once they exist (bound when the interface goes up); how many were sized. */
async function sizeWireguardGoSockets(program: string, ifname: string): Promise<number> {
  const pid = await wireguardGoPid(program, ifname);
  if (pid === undefined) return 0;
  for (let i = 0; i < 100; i++) {
    try {
      const n = setUdpBuffersOf(pid, WIREGUARD_GO_SOCKET_BUFFER);
      if (n > 0) return n;
    } catch (e) {
      log.debug({ err: e, pid }, 'sizing wireguard-go sockets failed, trying again');
    }
    await sleep(20);
  }
  return 0;
}

/** Deletes the interface (which also ends its wireguard-go); a missing one is fine. */
export async function removeWireguard(ifname: string, netns?: string): Promise<void> {
  await ipBatch([['link', 'del', 'dev', ifname]], netns).catch(() => undefined);
}

/** The interface's peers as `wg show dump` prints them (public key, endpoint, allowed IPs). */
export async function listWireguardPeers(ifname: string, netns?: string): Promise<WireguardPeer[]> {
  const { stdout } = await run(inNetns([WG, 'show', ifname, 'dump'], netns));
  // First line: the interface itself; then one tab-separated line per peer.
  return stdout
    .trim()
    .split('\n')
    .slice(1)
    .filter((l) => l.trim())
    .map((l) => {
      const [publicKey = '', , endpoint = '', allowed = ''] = l.split('\t');
      return { publicKey, endpoint, allowedIp: allowed.split(',')[0] ?? '' };
    });
}

const KEY = /^[A-Za-z0-9+/]{43}=$/;
const ENDPOINT = /^[0-9.]+:\d{1,5}$/;
const CIDR = /^[0-9.]+\/\d{1,2}$/;

/**
 * Makes the interface's peer set exactly `peers`: new ones added, changed ones updated, the others
 * removed, in one `wg set`. Keepalive every 25 s keeps each peer's NAT and handshake state warm.
 */
export async function syncWireguardPeers(ifname: string, peers: readonly WireguardPeer[], netns?: string): Promise<void> {
  checkPeers(peers);
  const have = await listWireguardPeers(ifname, netns);
  const want = new Map(peers.map((p) => [p.publicKey, p]));
  const remove = have.filter((h) => !want.has(h.publicKey)).map((h) => h.publicKey);
  const set = peers.filter((p) => {
    const h = have.find((x) => x.publicKey === p.publicKey);
    return !(h && h.endpoint === p.endpoint && h.allowedIp === p.allowedIp);
  });
  await changeWireguardPeers(ifname, set, remove, netns);
}

/**
 * Adds or updates the peers `set` and removes those whose public keys are in `remove`, in one `wg
 * set`, without listing what the interface holds (the caller knows: a delta). Nothing to do: no call.
 */
export async function changeWireguardPeers(ifname: string, set: readonly WireguardPeer[], remove: readonly string[], netns?: string): Promise<void> {
  checkPeers(set);
  for (const k of remove) if (!KEY.test(k)) throw new Error(`wireguard: bad peer key ${JSON.stringify(k)}`);
  const args: string[] = [];
  for (const k of remove) args.push('peer', k, 'remove');
  for (const p of set) args.push('peer', p.publicKey, 'endpoint', p.endpoint, 'allowed-ips', p.allowedIp, 'persistent-keepalive', '25');
  if (args.length) await run(inNetns([WG, 'set', ifname, ...args], netns));
}

function checkPeers(peers: readonly WireguardPeer[]): void {
  for (const p of peers) {
    if (!KEY.test(p.publicKey) || !ENDPOINT.test(p.endpoint) || !CIDR.test(p.allowedIp)) throw new Error(`wireguard: bad peer ${JSON.stringify(p)}`);
  }
}
