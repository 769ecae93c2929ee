/**
 * Walks one packet through the base chains of a netfilter hook of a live ruleset (ruleset.ts), the
 * way the kernel does: every base chain on the hook in priority order, `accept` ends only that chain,
 * `drop`/`reject` end the packet, `jump`/`goto`/`return` between chains, `dnat` rewrites the packet.
 *
 * Use: `evaluateHook(rs, 'forward', packet)` → `{ verdict, rule, accepts, packet }`: `rule` is the
 * rule that decided a drop (or that could not be evaluated), `accepts` the rules that accepted it on
 * the way, `packet` the packet after NAT (prerouting/output).
 *
 * Beware: the packet is the first one of a new connection (`ct state new`) unless told otherwise.
 * Expressions the evaluator does not know (xt matches of iptables-nft, marks, interface indices,
 * `limit`, ...) make the verdict `unknown` with that rule, never a guess. IPv4 only.
 */
import { baseChains, chainOf, setOf, type Expr, type Json, type NftChain, type NftRule, type Ruleset } from './ruleset.js';

export type L4 = 'tcp' | 'udp' | 'icmp';

export interface Packet {
  /** Input interface; '' for a packet the host itself sends (output hook). */
  iif: string;
  /** Output interface; '' for a packet delivered to the host (input hook). */
  oif: string;
  saddr: string;
  daddr: string;
  proto: L4;
  /** 0 for ICMP. */
  sport: number;
  dport: number;
  ctState: 'new' | 'established';
  /** Conntrack status flags (`dnat` once a DNAT happened). */
  ctStatus: string[];
  /** `fib daddr type`: 'local' when daddr is one of the host's addresses. */
  fibDaddr: 'local' | 'unicast';
}

export interface Decision {
  verdict: 'accept' | 'drop' | 'unknown';
  /** The dropping rule, or the rule that could not be evaluated; none when a chain policy dropped. */
  rule?: NftRule;
  /** The base chain whose policy dropped. */
  policyChain?: NftChain;
  /** Rules that accepted the packet (one per base chain at most). */
  accepts: NftRule[];
  /** The packet after the hook (DNAT applied). */
  packet: Packet;
}

const UNKNOWN = Symbol('unknown');
type Flags = { flags: string[] };
type Val = string | number | Flags | Val[];
type Got = Val | undefined | typeof UNKNOWN;

const PROTO_NUM: Record<string, number> = { icmp: 1, tcp: 6, udp: 17, sctp: 132, icmpv6: 58 };

function ip4(s: string): number | undefined {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(s);
  if (!m) return undefined;
  return ((Number(m[1]) << 24) | (Number(m[2]) << 16) | (Number(m[3]) << 8) | Number(m[4])) >>> 0;
}

export function inPrefix(addr: string, net: string, len: number): boolean {
  const a = ip4(addr);
  const n = ip4(net);
  if (a === undefined || n === undefined) return false;
  if (len === 0) return true;
  const mask = (~0 << (32 - len)) >>> 0;
  return ((a & mask) >>> 0) === ((n & mask) >>> 0);
}

function field(e: Json, p: Packet): Got {
  if (!e || typeof e !== 'object' || Array.isArray(e)) return UNKNOWN;
  if ('concat' in e && Array.isArray(e.concat)) {
    const parts = e.concat.map((x) => field(x, p));
    if (parts.some((x) => x === UNKNOWN)) return UNKNOWN;
    if (parts.some((x) => x === undefined)) return undefined;
    return parts as Val[];
  }
  if ('meta' in e) {
    const k = (e.meta as { key?: string }).key;
    if (k === 'iifname') return p.iif;
    if (k === 'oifname') return p.oif;
    if (k === 'l4proto') return p.proto;
    if (k === 'nfproto') return 'ipv4';
    if (k === 'protocol') return 'ip';
    return UNKNOWN;
  }
  if ('payload' in e) {
    const { protocol, field: f } = e.payload as { protocol?: string; field?: string };
    if (protocol === 'ip') {
      if (f === 'saddr') return p.saddr;
      if (f === 'daddr') return p.daddr;
      if (f === 'protocol') return p.proto;
      return UNKNOWN;
    }
    if (protocol === 'ip6') return undefined;
    const l4ok = protocol === 'th' ? p.proto !== 'icmp' : protocol === p.proto;
    if (!l4ok) return protocol === 'tcp' || protocol === 'udp' || protocol === 'th' || protocol === 'icmp' || protocol === 'sctp' ? undefined : UNKNOWN;
    if (f === 'dport') return p.dport;
    if (f === 'sport') return p.sport;
    if (protocol === 'icmp' && f === 'type') return p.ctState === 'new' ? 'echo-request' : 'echo-reply';
    return UNKNOWN;
  }
  if ('ct' in e) {
    const k = (e.ct as { key?: string; dir?: string }).key;
    if (k === 'state') return { flags: [p.ctState] };
    if (k === 'status') return { flags: p.ctStatus };
    return UNKNOWN;
  }
  if ('fib' in e) {
    const fib = e.fib as { result?: string; flags?: string[] };
    if (fib.result === 'type' && fib.flags?.length === 1 && fib.flags[0] === 'daddr') return p.fibDaddr;
    return UNKNOWN;
  }
  return UNKNOWN;
}

/** Does the scalar or concatenation `v` equal the set element / literal `r`? */
function eq(v: Val, r: Json, rs: Ruleset, where: NftRule): boolean | typeof UNKNOWN {
  if (r && typeof r === 'object' && !Array.isArray(r)) {
    if ('elem' in r) return eq(v, (r.elem as { val?: Json }).val ?? null, rs, where);
    if ('prefix' in r) {
      const pr = r.prefix as { addr?: Json; len?: Json };
      return typeof v === 'string' && typeof pr.addr === 'string' && typeof pr.len === 'number' ? inPrefix(v, pr.addr, pr.len) : UNKNOWN;
    }
    if ('range' in r && Array.isArray(r.range)) {
      const [lo, hi] = r.range;
      if (typeof v === 'number' && typeof lo === 'number' && typeof hi === 'number') return v >= lo && v <= hi;
      const a = typeof v === 'string' ? ip4(v) : undefined;
      const l = typeof lo === 'string' ? ip4(lo) : undefined;
      const h = typeof hi === 'string' ? ip4(hi) : undefined;
      return a !== undefined && l !== undefined && h !== undefined ? a >= l && a <= h : UNKNOWN;
    }
    if ('concat' in r && Array.isArray(r.concat)) {
      if (!Array.isArray(v) || v.length !== r.concat.length) return false;
      let unknown = false;
      for (let i = 0; i < v.length; i++) {
        const x = eq(v[i] as Val, r.concat[i] as Json, rs, where);
        if (x === false) return false;
        if (x === UNKNOWN) unknown = true;
      }
      return unknown ? UNKNOWN : true;
    }
    if ('set' in r) return inAny(v, Array.isArray(r.set) ? r.set : [r.set as Json], rs, where);
    return UNKNOWN;
  }
  if (typeof r === 'string' && r.startsWith('@')) {
    const s = setOf(rs, where.family, where.table, r.slice(1));
    return s ? inAny(v, s.elem, rs, where) : UNKNOWN;
  }
  if (Array.isArray(r)) return inAny(v, r, rs, where);
  if (typeof v === 'object' && !Array.isArray(v)) return typeof r === 'string' && v.flags.includes(r);
  if (Array.isArray(v)) return false;
  if (typeof v === 'string' && typeof r === 'string') {
    if (r.endsWith('*') && !r.endsWith('\\*')) return v.startsWith(r.slice(0, -1));
    return v === r;
  }
  if (typeof v === 'string' && typeof r === 'number') return PROTO_NUM[v] === r;
  return v === r;
}

function inAny(v: Val, elems: Json[], rs: Ruleset, where: NftRule): boolean | typeof UNKNOWN {
  let unknown = false;
  for (const el of elems) {
    const x = eq(v, el, rs, where);
    if (x === true) return true;
    if (x === UNKNOWN) unknown = true;
  }
  return unknown ? UNKNOWN : false;
}

function match(m: { op?: string; left?: Json; right?: Json }, p: Packet, rs: Ruleset, where: NftRule): boolean | typeof UNKNOWN {
  const v = field(m.left ?? null, p);
  if (v === UNKNOWN) return UNKNOWN;
  if (v === undefined) return false;
  const r = eq(v, m.right ?? null, rs, where);
  if (r === UNKNOWN) return UNKNOWN;
  if (m.op === '==' || m.op === 'in' || m.op === undefined) return r;
  if (m.op === '!=') return !r;
  return UNKNOWN;
}

/** A map lookup `KEY map @NAME` → the element's value, undefined when no key matches. */
function lookup(m: { key?: Json; data?: Json }, p: Packet, rs: Ruleset, where: NftRule): Json | undefined | typeof UNKNOWN {
  const k = field(m.key ?? null, p);
  if (k === UNKNOWN) return UNKNOWN;
  if (k === undefined) return undefined;
  if (typeof m.data !== 'string' || !m.data.startsWith('@')) return UNKNOWN;
  const s = setOf(rs, where.family, where.table, m.data.slice(1));
  if (!s) return UNKNOWN;
  for (const el of s.elem) {
    if (!Array.isArray(el) || el.length !== 2) continue;
    const x = eq(k, el[0] as Json, rs, where);
    if (x === UNKNOWN) return UNKNOWN;
    if (x) return el[1] as Json;
  }
  return undefined;
}

/** Applies `dnat`; false when its map has no element for the packet (the rule does nothing). */
function dnat(d: { family?: string; addr?: Json; port?: Json }, p: Packet, rs: Ruleset, where: NftRule): boolean | typeof UNKNOWN {
  if (d.family === 'ip6') return false;
  let addr: Json | undefined = d.addr ?? null;
  let port: Json | undefined = d.port;
  if (addr && typeof addr === 'object' && !Array.isArray(addr) && 'map' in addr) {
    const got = lookup(addr.map as { key?: Json; data?: Json }, p, rs, where);
    if (got === UNKNOWN) return UNKNOWN;
    if (got === undefined) return false;
    if (got && typeof got === 'object' && !Array.isArray(got) && 'concat' in got && Array.isArray(got.concat)) {
      [addr, port] = got.concat;
    } else addr = got;
  }
  if (typeof addr !== 'string') return UNKNOWN;
  p.daddr = addr;
  if (typeof port === 'number') p.dport = port;
  if (!p.ctStatus.includes('dnat')) p.ctStatus = [...p.ctStatus, 'dnat'];
  return true;
}

type ChainResult = { kind: 'accept' | 'drop' | 'fall' | 'unknown'; rule?: NftRule };

const IGNORED = new Set(['counter', 'log', 'notrack', 'mangle', 'limit', 'quota', 'set', 'meter', 'comment']);

function runChain(rs: Ruleset, chain: NftChain, p: Packet, depth: number): ChainResult {
  if (depth > 16) return { kind: 'unknown' };
  for (const rule of chain.rules) {
    for (const e of rule.expr) {
      const [k, v] = Object.entries(e as Expr)[0] ?? ['', null];
      if (k === 'match') {
        const r = match(v as { op?: string; left?: Json; right?: Json }, p, rs, rule);
        if (r === UNKNOWN) return { kind: 'unknown', rule };
        if (!r) break;
        continue;
      }
      if (IGNORED.has(k)) continue;
      if (k === 'accept') return { kind: 'accept', rule };
      if (k === 'drop' || k === 'reject') return { kind: 'drop', rule };
      if (k === 'return') return { kind: 'fall' };
      if (k === 'continue') break;
      if (k === 'jump' || k === 'goto') {
        const target = chainOf(rs, rule.family, rule.table, (v as { target?: string }).target ?? '');
        if (!target) return { kind: 'unknown', rule };
        const r = runChain(rs, target, p, depth + 1);
        if (r.kind !== 'fall' || k === 'goto') return r.kind === 'fall' ? { kind: 'fall' } : r;
        break;
      }
      if (k === 'dnat') {
        const r = dnat(v as { family?: string; addr?: Json; port?: Json }, p, rs, rule);
        if (r === UNKNOWN) return { kind: 'unknown', rule };
        if (!r) break;
        return { kind: 'accept', rule };
      }
      if (k === 'masquerade' || k === 'snat') return { kind: 'accept', rule };
      return { kind: 'unknown', rule };
    }
  }
  return { kind: 'fall' };
}

/** The packet through every base chain of `hook` (IPv4 and inet tables). */
export function evaluateHook(rs: Ruleset, hook: string, packet: Packet): Decision {
  const p: Packet = { ...packet, ctStatus: [...packet.ctStatus] };
  const accepts: NftRule[] = [];
  for (const chain of baseChains(rs, hook, 4)) {
    const r = runChain(rs, chain, p, 0);
    if (r.kind === 'unknown') return { verdict: 'unknown', ...(r.rule ? { rule: r.rule } : {}), accepts, packet: p };
    if (r.kind === 'drop') return { verdict: 'drop', ...(r.rule ? { rule: r.rule } : {}), accepts, packet: p };
    if (r.kind === 'fall' && chain.policy === 'drop') return { verdict: 'drop', policyChain: chain, accepts, packet: p };
    if (r.kind === 'accept' && r.rule) accepts.push(r.rule);
  }
  return { verdict: 'accept', accepts, packet: p };
}
