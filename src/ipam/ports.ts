/**
 * Published ports: parsing what Docker sends (HostConfig.PortBindings, Config.ExposedPorts,
 * HostConfig.PublishAllPorts) into requests, and a host-port allocator with Docker's conflict rules
 * and error texts. Pure: the host's ephemeral range is given to the allocator by the caller.
 *
 * Use: `parsePortRequests(bindings, exposed, publishAll)` at create (it throws Docker's errors) and
 * start; `new PortAllocator(range)`, `allocate(owner, requests)` at start, `release(owner)` at stop,
 * `reserve(owner, bindings)` to re-adopt stored bindings after a daemon restart.
 *
 * Beware: a binding on 0.0.0.0 (or ::) holds the port on every address of its family, so it
 * conflicts with a binding of the same port on any one address, and the other way round. Random ports
 * are taken in order from the range (after the last one given), as Docker's allocator does.
 */
import { internal, invalidParameter, type RedesError } from '../util/index.js';
import { addressToString, tryParseAddress } from './cidr.js';

export type PortProto = 'tcp' | 'udp' | 'sctp';

export interface PortRequest {
  /** "80/tcp": the key of Docker's port map. */
  key: string;
  containerPort: number;
  proto: PortProto;
  /** '' = the network's default host address. */
  hostIp: string;
  /** 0 = any free port of the ephemeral range. */
  hostPortStart: number;
  hostPortEnd: number;
}

export interface HostBinding {
  proto: PortProto;
  hostIp: string;
  hostPort: number;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => !!v && typeof v === 'object' && !Array.isArray(v);
const PROTOS = new Set(['tcp', 'udp', 'sctp']);

function portNumber(text: string, what: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 1 || n > 65535) throw invalidParameter('port.invalid', `invalid ${what}: ${text}`);
  return n;
}

/** "80", "80/udp", "8000-8010/tcp" → [first, last, proto]. */
export function parsePortKey(key: string): [number, number, PortProto] {
  const [ports = '', proto = 'tcp', ...extra] = key.split('/');
  if (extra.length || !PROTOS.has(proto.toLowerCase())) throw invalidParameter('port.invalid', `invalid proto: ${proto}`);
  const [a = '', b] = ports.split('-');
  const start = portNumber(a, 'containerPort');
  const end = b === undefined ? start : portNumber(b, 'containerPort');
  if (end < start) throw invalidParameter('port.invalid', `invalid containerPort: ${ports}`);
  return [start, end, proto.toLowerCase() as PortProto];
}

/** "", "8080", "8000-8010" → [first, last] (0, 0 for any). */
function parseHostPort(text: string): [number, number] {
  // "0" asks for any free port, as "" does (Docker; testcontainers sends it for withExposedPorts).
  if (text === '' || text === '0') return [0, 0];
  const [a = '', b] = text.split('-');
  const start = portNumber(a, 'hostPort');
  const end = b === undefined ? start : portNumber(b, 'hostPort');
  if (end < start) throw invalidParameter('port.invalid', `invalid hostPort: ${text}`);
  return [start, end];
}

/** An address literal only: a name here would mean a lookup (slow, and not Docker's way). */
function checkHostIp(ip: string): string {
  const bare = ip.startsWith('[') && ip.endsWith(']') ? ip.slice(1, -1) : ip;
  if (bare === '') return '';
  const a = tryParseAddress(bare);
  if (a === undefined || a.zone !== undefined) throw invalidParameter('port.invalid', `invalid host IP: ${ip}`);
  return addressToString(a);
}

/**
 * Every port the container publishes. With `publishAll` (`-P`), exposed ports without a binding get a
 * random host port. A container port range with a host range of the same length maps one to one.
 */
export function parsePortRequests(portBindings: unknown, exposed: unknown, publishAll: boolean): PortRequest[] {
  const out: PortRequest[] = [];
  const bound = new Set<string>();
  for (const [key, list] of Object.entries(isObj(portBindings) ? portBindings : {})) {
    const [cStart, cEnd, proto] = parsePortKey(key);
    bound.add(`${cStart}/${proto}`);
    const items = Array.isArray(list) && list.length ? list : publishAll ? [{}] : [];
    for (const item of items) {
      const b = isObj(item) ? item : {};
      const hostIp = checkHostIp(typeof b.HostIp === 'string' ? b.HostIp : '');
      const [hStart, hEnd] = parseHostPort(typeof b.HostPort === 'string' ? b.HostPort : '');
      const n = cEnd - cStart;
      if (n > 0 && hStart !== 0 && hEnd - hStart !== n) {
        throw invalidParameter('port.invalid', `invalid port range: host ${hStart}-${hEnd} and container ${cStart}-${cEnd} differ in length`);
      }
      for (let i = 0; i <= n; i++) {
        const one = n > 0 && hStart !== 0;
        out.push({
          key: `${cStart + i}/${proto}`, containerPort: cStart + i, proto, hostIp,
          hostPortStart: one ? hStart + i : hStart, hostPortEnd: one ? hStart + i : hEnd,
        });
      }
    }
  }
  if (publishAll) {
    for (const key of Object.keys(isObj(exposed) ? exposed : {})) {
      const [cStart, cEnd, proto] = parsePortKey(key);
      for (let p = cStart; p <= cEnd; p++) {
        if (bound.has(`${p}/${proto}`)) continue;
        out.push({ key: `${p}/${proto}`, containerPort: p, proto, hostIp: '', hostPortStart: 0, hostPortEnd: 0 });
      }
    }
  }
  return out;
}

export const isV6 = (ip: string): boolean => ip.includes(':');
const isAny = (ip: string): boolean => ip === '0.0.0.0' || ip === '::';
/** Docker's net.JoinHostPort form, as in its error texts. */
export const hostPortText = (ip: string, port: number | string): string => (isV6(ip) ? `[${ip}]:${port}` : `${ip}:${port}`);

/** Docker's text when a fixed host port is taken (dockerd answers 500 with it). */
export function portAllocatedError(ip: string, port: number | string): RedesError {
  return internal('port.allocated', `Bind for ${hostPortText(ip, port)} failed: port is already allocated`);
}

export class PortAllocator {
  /** "tcp 8080" → bindings holding that port (any address). */
  private readonly held = new Map<string, Array<{ owner: string; ip: string }>>();
  private readonly byOwner = new Map<string, HostBinding[]>();
  private next: number;

  constructor(private readonly range: readonly [number, number]) {
    this.next = range[0];
  }

  /** Whether `b` can be taken by `owner` (its own bindings never conflict with it). */
  isFree(b: HostBinding, owner = ''): boolean {
    const holders = this.held.get(`${b.proto} ${b.hostPort}`) ?? [];
    return !holders.some((h) => h.owner !== owner && isV6(h.ip) === isV6(b.hostIp) && (h.ip === b.hostIp || isAny(h.ip) || isAny(b.hostIp)));
  }

  /** Takes bindings as they are (daemon restart); throws when one is held by another owner. */
  reserve(owner: string, bindings: readonly HostBinding[]): void {
    for (const b of bindings) if (!this.isFree(b, owner)) throw portAllocatedError(b.hostIp, b.hostPort);
    for (const b of bindings) this.hold(owner, b);
  }

  /**
   * Picks a host port for each request (`hostIp` already resolved to an address), all or nothing.
   * `also(request)` lists further addresses that must get the same port (e.g. :: next to 0.0.0.0).
   */
  allocate(owner: string, requests: ReadonlyArray<{ proto: PortProto; hostIp: string; hostPortStart: number; hostPortEnd: number }>, also: (ip: string) => string[] = () => []): number[] {
    const got: number[] = [];
    try {
      for (const r of requests) {
        const ips = [r.hostIp, ...also(r.hostIp)];
        const free = (port: number): boolean => ips.every((ip) => this.isFree({ proto: r.proto, hostIp: ip, hostPort: port }, owner));
        let port = 0;
        if (r.hostPortStart === 0) port = this.pickRandom(free);
        else {
          for (let p = r.hostPortStart; p <= r.hostPortEnd && !port; p++) if (free(p)) port = p;
          if (!port) {
            const text = r.hostPortStart === r.hostPortEnd ? r.hostPortStart : `${r.hostPortStart}-${r.hostPortEnd}`;
            throw portAllocatedError(r.hostIp, text);
          }
        }
        for (const ip of ips) this.hold(owner, { proto: r.proto, hostIp: ip, hostPort: port });
        got.push(port);
      }
    } catch (e) {
      this.release(owner);
      throw e;
    }
    return got;
  }

  release(owner: string): void {
    for (const b of this.byOwner.get(owner) ?? []) {
      const k = `${b.proto} ${b.hostPort}`;
      const left = (this.held.get(k) ?? []).filter((h) => h.owner !== owner);
      if (left.length) this.held.set(k, left);
      else this.held.delete(k);
    }
    this.byOwner.delete(owner);
  }

  bindingsOf(owner: string): HostBinding[] {
    return [...(this.byOwner.get(owner) ?? [])];
  }

  private hold(owner: string, b: HostBinding): void {
    const k = `${b.proto} ${b.hostPort}`;
    const list = this.held.get(k) ?? [];
    if (!list.some((h) => h.owner === owner && h.ip === b.hostIp)) {
      list.push({ owner, ip: b.hostIp });
      this.byOwner.set(owner, [...(this.byOwner.get(owner) ?? []), b]);
    }
    this.held.set(k, list);
  }

  private pickRandom(free: (port: number) => boolean): number {
    const [lo, hi] = this.range;
    const size = hi - lo + 1;
    for (let i = 0; i < size; i++) {
      const p = lo + ((this.next - lo + i) % size);
      if (free(p)) {
        this.next = p + 1 > hi ? lo : p + 1;
        return p;
      }
    }
    throw internal('port.exhausted', 'no available ports in the ephemeral range');
  }
}
