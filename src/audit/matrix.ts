/**
 * The reachability matrix: for every pair that matters (container→container per network, overlay
 * peers on other engine hosts included, host→container, world→published port, host→published port,
 * container→world, container→host),
 * allowed or denied and why, from the facts (who is where, live routes) and the live ruleset (every
 * table, so an operator's own rules count).
 *
 * Use: `computeMatrix(facts, parseRuleset(json))` → `{ cells }`. Each cell holds the checks it is
 * made of (ICMP echo, TCP and UDP on the target's exposed ports and on one port nobody exposes);
 * `--verify` probes exactly those (verify.ts).
 *
 * Beware: the first packet of each flow and its reply are evaluated (so a rule dropping replies
 * counts); anything the evaluator does not understand makes the check `unknown`, never a guess.
 */
import { egressEndpoint, networkById, type AuditContainer, type AuditEndpoint, type AuditFacts, type AuditNetwork, type AuditRemote } from './facts.js';
import { evaluateHook, inPrefix, type Decision, type L4, type Packet } from './nft/eval.js';
import { ruleText, type Ruleset } from './nft/ruleset.js';
import { reasonOfDrop, reasonOfAccept, type Reason } from './reasons.js';

export type Verdict = 'allowed' | 'denied' | 'unknown';
export type CellKind = 'container-container' | 'host-container' | 'world-published' | 'host-published' | 'container-world' | 'container-host';

/** A container; `node` is set for an overlay peer running on another engine host. */
export type Peer = { kind: 'container'; name: string; id: string; node?: string } | { kind: 'host' } | { kind: 'world' };

/** How a peer is named in tables and violations: `name`, `name@node` on another host, `host`, `world`. */
export function peerLabel(p: Peer): string {
  if (p.kind !== 'container') return p.kind;
  return p.node ? `${p.name}@${p.node}` : p.name;
}

export interface Check {
  proto: L4;
  /** 0 for ICMP. */
  port: number;
  /** Where the probe goes. */
  addr: string;
  verdict: Verdict;
  reason: Reason;
  /** The rule or option behind the reason, in words. */
  detail: string;
}

export interface Cell {
  kind: CellKind;
  from: Peer;
  to: Peer;
  /** The target's network (container targets), or the published binding `hostIp:hostPort/proto`. */
  via: string;
  verdict: Verdict | 'partial';
  reason: Reason;
  detail: string;
  checks: Check[];
}

export interface Matrix {
  cells: Cell[];
}

/** A port number standing for "any port the target does not expose". */
export function otherPort(exposed: ReadonlyArray<{ port: number }>): number {
  const used = new Set(exposed.map((e) => e.port));
  return [9, 7, 13, 19, 37].find((p) => !used.has(p)) ?? 39;
}

/** The checks of a container target: ICMP, its exposed TCP/UDP ports, one unexposed port of each. */
export function targetChecks(c: AuditContainer): Array<{ proto: L4; port: number }> {
  const other = otherPort(c.exposed);
  const tcp = c.exposed.filter((e) => e.proto === 'tcp').map((e) => e.port).sort((a, b) => a - b);
  const udp = c.exposed.filter((e) => e.proto === 'udp').map((e) => e.port).sort((a, b) => a - b);
  return [
    { proto: 'icmp', port: 0 },
    ...tcp.map((port) => ({ proto: 'tcp' as const, port })),
    { proto: 'tcp', port: other },
    ...udp.map((port) => ({ proto: 'udp' as const, port })),
    { proto: 'udp', port: other },
  ];
}

interface Ctx {
  facts: AuditFacts;
  rs: Ruleset;
}

type Result = { verdict: Verdict; reason: Reason; detail: string };
const plain = (r: Result): Result => ({ verdict: r.verdict, reason: r.reason, detail: r.detail });

const isLocal = (ctx: Ctx, addr: string): boolean => addr.startsWith('127.') || ctx.facts.host.localAddrs.includes(addr);

function packet(p: Partial<Packet> & Pick<Packet, 'saddr' | 'daddr' | 'proto' | 'dport'>, ctx: Ctx): Packet {
  return { iif: '', oif: '', sport: p.proto === 'icmp' ? 0 : 40000, ctState: 'new', ctStatus: [], fibDaddr: isLocal(ctx, p.daddr) ? 'local' : 'unicast', ...p };
}

function reply(p: Packet): Packet {
  return { ...p, iif: p.oif, oif: p.iif, saddr: p.daddr, daddr: p.saddr, sport: p.dport, dport: p.sport, ctState: 'established' };
}

function fromDecision(ctx: Ctx, d: Decision, sameBridge: boolean, otherwise: Reason): Result | undefined {
  if (d.verdict === 'unknown') return { verdict: 'unknown', reason: 'unknown', detail: d.rule ? `cannot evaluate: ${ruleText(d.rule)}` : 'cannot evaluate the ruleset' };
  if (d.verdict === 'drop') return { verdict: 'denied', ...reasonOfDrop(ctx.facts.prefix, d, sameBridge) };
  void otherwise;
  return undefined;
}

/** A forwarded flow: prerouting (NAT), forward both ways. `oifFor` picks the egress after NAT. */
function forwarded(ctx: Ctx, p: Packet, oifFor: (daddr: string) => string | undefined, otherwise: Reason): Result & { packet: Packet } {
  const pre = evaluateHook(ctx.rs, 'prerouting', p);
  const bad = fromDecision(ctx, pre, false, otherwise);
  if (bad) return { ...bad, packet: pre.packet };
  const q = pre.packet;
  const oif = q.fibDaddr === 'local' && !q.ctStatus.includes('dnat') ? '' : oifFor(q.daddr);
  if (oif === undefined) return { verdict: 'denied', reason: 'no-route', detail: `no route from ${p.iif} to ${q.daddr}`, packet: q };
  if (oif === '') {
    const input = evaluateHook(ctx.rs, 'input', { ...q, oif: '' });
    const bad2 = fromDecision(ctx, input, false, otherwise);
    if (bad2) return { ...bad2, packet: q };
    return { verdict: 'allowed', reason: 'local', detail: 'delivered to the host itself', packet: q };
  }
  const fwd = { ...q, oif };
  const sameBridge = fwd.iif === fwd.oif;
  const d = evaluateHook(ctx.rs, 'forward', fwd);
  const bad3 = fromDecision(ctx, d, sameBridge, otherwise);
  if (bad3) return { ...bad3, packet: fwd };
  const back = evaluateHook(ctx.rs, 'forward', reply(fwd));
  const bad4 = fromDecision(ctx, back, sameBridge, otherwise);
  if (bad4) return { ...bad4, detail: `reply dropped: ${bad4.detail}`, packet: fwd };
  return { verdict: 'allowed', ...reasonOfAccept(d, otherwise), packet: fwd };
}

/** The host's own packet: output (NAT), then back in by input for the reply. */
function fromHost(ctx: Ctx, p: Packet, oifFor: (daddr: string) => string | undefined): Result & { packet: Packet } {
  const out = evaluateHook(ctx.rs, 'output', p);
  const bad = fromDecision(ctx, out, false, 'local');
  if (bad) return { ...bad, packet: out.packet };
  const q = out.packet;
  const oif = oifFor(q.daddr);
  if (oif === undefined) return { verdict: 'denied', reason: 'no-route', detail: `the host has no route to ${q.daddr}`, packet: q };
  const back = evaluateHook(ctx.rs, 'input', reply({ ...q, oif }));
  const bad2 = fromDecision(ctx, back, false, 'local');
  if (bad2) return { ...bad2, detail: `reply dropped: ${bad2.detail}`, packet: q };
  return { verdict: 'allowed', ...reasonOfAccept(out, q.ctStatus.includes('dnat') ? 'published' : 'local'), packet: q };
}

/**
 * The host's egress interface toward `addr` (a bridge, a macvlan shim, the uplink), if any. An
 * overlay bridge holds no address of the host (as in Docker, the overlay's gateway is nobody's), so
 * the host has no route into an overlay subnet.
 */
function hostRoute(ctx: Ctx, addr: string): string | undefined {
  for (const n of ctx.facts.networks) {
    if (!n.subnet || !inSubnet(addr, n.subnet)) continue;
    if (n.kind === 'bridge') return n.bridge;
    if (n.kind === 'macvlan') return n.shim?.ifname;
    return undefined;
  }
  return ctx.facts.host.uplink?.ifname;
}

function inSubnet(addr: string, cidr: string): boolean {
  const [net, len] = cidr.split('/');
  return !!net && inPrefix(addr, net, Number(len));
}

function containerToContainer(ctx: Ctx, src: AuditContainer, dst: AuditContainer, dep: AuditEndpoint, net: AuditNetwork, proto: L4, port: number): Result {
  if (net.kind === 'other') return { verdict: 'unknown', reason: 'unknown', detail: `driver ${net.driver} is not modelled` };
  const shared = src.endpoints.find((e) => e.networkId === dep.networkId);
  if (net.kind === 'macvlan') {
    if (shared) {
      return net.macvlanMode === 'private'
        ? { verdict: 'denied', reason: 'macvlan-private', detail: `macvlan network ${net.name} is in private mode` }
        : { verdict: 'allowed', reason: 'same-network', detail: `both on macvlan network ${net.name}` };
    }
    if (!net.shim) return { verdict: 'denied', reason: 'macvlan-parent', detail: `the host does not reach the children of macvlan parent ${net.parent ?? '(none)'}` };
  }
  if (shared) {
    const br = net.bridge ?? '';
    return plain(forwarded(ctx, packet({ iif: br, saddr: shared.ip, daddr: dep.ip, proto, dport: port }, ctx), () => br, 'same-network'));
  }
  const out = egressEndpoint(ctx.facts, src);
  if (!out) return { verdict: 'denied', reason: 'no-route', detail: `${src.name} has no default route (only internal networks, or none)` };
  const outNet = networkById(ctx.facts, out.networkId);
  if (outNet?.kind === 'macvlan') return { verdict: 'denied', reason: 'macvlan-parent', detail: `${src.name} leaves by macvlan parent ${outNet.parent ?? ''}, past this host` };
  if (outNet?.kind === 'overlay') return overlayWayOut(src, outNet);
  const iif = outNet?.bridge ?? '';
  return plain(forwarded(ctx, packet({ iif, saddr: out.ip, daddr: dep.ip, proto, dport: port }, ctx), (a) => hostRoute(ctx, a), 'routed'));
}

/** A container whose default route is an overlay gateway: nobody holds that address. */
function overlayWayOut(src: AuditContainer, net: AuditNetwork): Result {
  return { verdict: 'denied', reason: 'no-route', detail: `${src.name} leaves by overlay network ${net.name}, whose gateway is on no host` };
}

function hostToContainer(ctx: Ctx, dep: AuditEndpoint, net: AuditNetwork, proto: L4, port: number): Result {
  if (net.kind === 'other') return { verdict: 'unknown', reason: 'unknown', detail: `driver ${net.driver} is not modelled` };
  if (net.kind === 'macvlan' && !net.shim) return { verdict: 'denied', reason: 'macvlan-parent', detail: `the host does not reach the children of macvlan parent ${net.parent ?? '(none)'} (no host shim)` };
  const oif = hostRoute(ctx, dep.ip);
  const saddr = net.kind === 'macvlan' ? net.shim?.addr ?? '' : net.gateway ?? '';
  return plain(fromHost(ctx, packet({ oif, saddr, daddr: dep.ip, proto, dport: port }, ctx), (a) => hostRoute(ctx, a)));
}

function summarise(checks: Check[]): Pick<Cell, 'verdict' | 'reason' | 'detail'> {
  const allowed = checks.filter((c) => c.verdict === 'allowed');
  const unknown = checks.find((c) => c.verdict === 'unknown');
  const main = checks.find((c) => c.proto === 'tcp' && c.verdict !== 'allowed') ?? checks.find((c) => c.verdict !== 'allowed') ?? checks[0];
  if (unknown) return { verdict: 'unknown', reason: unknown.reason, detail: unknown.detail };
  if (!main) return { verdict: 'denied', reason: 'no-route', detail: 'nothing to check' };
  if (allowed.length === checks.length) {
    const r = checks.find((c) => c.reason !== 'same-network' && c.reason !== 'routed') ?? checks[0] ?? main;
    return { verdict: 'allowed', reason: r.reason, detail: r.detail };
  }
  if (allowed.length === 0) return { verdict: 'denied', reason: main.reason, detail: main.detail };
  const what = allowed.map((c) => (c.proto === 'icmp' ? 'icmp' : `${c.port}/${c.proto}`)).join(', ');
  const why = allowed[0] as Check;
  return { verdict: 'partial', reason: why.reason, detail: `${what} allowed (${why.reason}); the rest: ${main.detail}` };
}

const cname = (c: AuditContainer): Peer => ({ kind: 'container', name: c.name, id: c.id });

function cell(kind: CellKind, from: Peer, to: Peer, via: string, checks: Check[]): Cell {
  return { kind, from, to, via, ...summarise(checks), checks };
}

/** Containers the matrix models: running, with a namespace of their own. */
export function auditedContainers(facts: AuditFacts): AuditContainer[] {
  return facts.containers.filter((c) => c.running && c.netns && c.networkMode !== 'host' && !c.networkMode.startsWith('container:')).sort((a, b) => a.name.localeCompare(b.name));
}

export function computeMatrix(facts: AuditFacts, rs: Ruleset): Matrix {
  const ctx: Ctx = { facts, rs };
  const cs = auditedContainers(facts);
  const cells: Cell[] = [];
  const world = facts.host.uplink;
  for (const dst of cs) {
    for (const dep of dst.endpoints) {
      const net = networkById(facts, dep.networkId);
      if (!net || !dep.ip) continue;
      const specs = targetChecks(dst);
      for (const src of cs) {
        if (src.id === dst.id) continue;
        const checks = specs.map((s) => ({ ...s, addr: dep.ip, ...containerToContainer(ctx, src, dst, dep, net, s.proto, s.port) }));
        cells.push(cell('container-container', cname(src), cname(dst), net.name, checks));
      }
      const hostChecks = specs.map((s) => ({ ...s, addr: dep.ip, ...hostToContainer(ctx, dep, net, s.proto, s.port) }));
      cells.push(cell('host-container', { kind: 'host' }, cname(dst), net.name, hostChecks));
    }
    for (const p of dst.published) {
      if (p.proto === 'sctp') continue;
      const via = `${p.hostIp}:${p.hostPort}/${p.proto}`;
      if (world) {
        const daddr = p.hostIp === '0.0.0.0' || p.hostIp.startsWith('127.') ? world.addr : p.hostIp;
        const r = publishedFromWorld(ctx, p.hostIp, packet({ iif: world.ifname, saddr: world.gateway, daddr, proto: p.proto, dport: p.hostPort }, ctx));
        cells.push(cell('world-published', { kind: 'world' }, cname(dst), via, [{ proto: p.proto, port: p.hostPort, addr: daddr, ...r }]));
      }
      const haddr = p.hostIp === '0.0.0.0' ? '127.0.0.1' : p.hostIp;
      const h = fromHost(ctx, packet({ oif: 'lo', saddr: haddr.startsWith('127.') ? '127.0.0.1' : haddr, daddr: haddr, proto: p.proto, dport: p.hostPort }, ctx), (a) => hostRoute(ctx, a));
      const hr: Result = h.packet.ctStatus.includes('dnat') || h.verdict !== 'allowed' ? h : { verdict: 'denied', reason: 'not-published', detail: `nothing is published on ${haddr}:${p.hostPort}` };
      cells.push(cell('host-published', { kind: 'host' }, cname(dst), via, [{ proto: p.proto, port: p.hostPort, addr: haddr, verdict: hr.verdict, reason: hr.reason, detail: hr.detail }]));
    }
  }
  cells.push(...remoteCells(ctx, cs));
  for (const src of cs) {
    if (world) cells.push(cell('container-world', cname(src), { kind: 'world' }, world.ifname, worldChecks(ctx, src, world)));
    cells.push(...hostCells(ctx, src));
  }
  return { cells };
}

/** The stand-in of an overlay peer of another host: one endpoint, nothing exposed that we know of. */
function remoteAsContainer(r: AuditRemote): AuditContainer {
  const ep: AuditEndpoint = { networkId: r.networkId, network: r.network, ip: r.ip, prefixLen: 0, mac: '', ifname: '', hostIfname: '' };
  return { id: r.containerId, name: r.name, labels: {}, image: '', running: true, networkMode: r.network, netns: '', endpoints: [ep], exposed: [], published: [], links: [], privileged: false, capAdd: [] };
}

/**
 * Local containers to overlay peers on other hosts, for the networks they share: the packet crosses
 * this host's overlay bridge toward its VXLAN port, so this host's ruleset decides as on any bridge
 * (the peer's host applies its own, audited there).
 */
function remoteCells(ctx: Ctx, cs: readonly AuditContainer[]): Cell[] {
  const cells: Cell[] = [];
  for (const r of ctx.facts.remotes ?? []) {
    const net = networkById(ctx.facts, r.networkId);
    if (!net) continue;
    const dst = remoteAsContainer(r);
    const dep = dst.endpoints[0] as AuditEndpoint;
    const to: Peer = { kind: 'container', name: r.name, id: r.containerId, node: r.node };
    for (const src of cs) {
      if (!src.endpoints.some((e) => e.networkId === r.networkId)) continue;
      const checks = targetChecks(dst).map((s) => ({ ...s, addr: r.ip, ...containerToContainer(ctx, src, dst, dep, net, s.proto, s.port) }));
      cells.push(cell('container-container', cname(src), to, net.name, checks));
    }
  }
  return cells;
}

function publishedFromWorld(ctx: Ctx, hostIp: string, p: Packet): Result {
  const r = forwarded(ctx, p, (a) => hostRoute(ctx, a), 'published');
  if (r.verdict === 'allowed' && !r.packet.ctStatus.includes('dnat')) {
    if (hostIp.startsWith('127.')) return { verdict: 'denied', reason: 'loopback-only', detail: `published on ${hostIp}: only the host reaches it` };
    return { verdict: 'denied', reason: 'not-published', detail: `nothing is published on ${p.daddr}:${p.dport}` };
  }
  return plain(r);
}

function worldChecks(ctx: Ctx, src: AuditContainer, world: NonNullable<AuditFacts['host']['uplink']>): Check[] {
  // No UDP toward the world: every container reaches it from the host's one masquerade address, and
  // the world rate-limits its ICMP port-unreachable answers per address (icmp_ratelimit).
  const specs: Array<{ proto: L4; port: number }> = [{ proto: 'icmp', port: 0 }, { proto: 'tcp', port: 80 }];
  const out = egressEndpoint(ctx.facts, src);
  const net = out ? networkById(ctx.facts, out.networkId) : undefined;
  return specs.map((s) => {
    const base = { ...s, addr: world.gateway };
    if (!out || !net) return { ...base, verdict: 'denied' as const, reason: 'no-route' as const, detail: `${src.name} has no default route${src.endpoints.some((e) => networkById(ctx.facts, e.networkId)?.internal) ? ' (internal networks only)' : ''}` };
    if (net.kind === 'macvlan') return { ...base, verdict: 'unknown' as const, reason: 'macvlan-parent' as const, detail: `leaves by macvlan parent ${net.parent ?? ''}, past this host` };
    if (net.kind === 'overlay') return { ...base, ...overlayWayOut(src, net) };
    const r = forwarded(ctx, packet({ iif: net.bridge ?? '', saddr: out.ip, daddr: world.gateway, proto: s.proto, dport: s.port }, ctx), (a) => hostRoute(ctx, a), 'routed');
    return { ...base, verdict: r.verdict, reason: r.reason, detail: r.detail };
  });
}

/** A container to the host: its own gateways, the other networks' gateways, the uplink address. */
function hostCells(ctx: Ctx, src: AuditContainer): Cell[] {
  const targets: Array<{ addr: string; via: string }> = [];
  for (const n of ctx.facts.networks) if (n.gateway && n.kind === 'bridge') targets.push({ addr: n.gateway, via: `gateway of ${n.name}` });
  if (ctx.facts.host.uplink) targets.push({ addr: ctx.facts.host.uplink.addr, via: ctx.facts.host.uplink.ifname });
  const cells: Cell[] = [];
  for (const t of targets) {
    const checks: Check[] = ([{ proto: 'icmp', port: 0 }, { proto: 'tcp', port: 9 }] as const).map((s) => ({ ...s, addr: t.addr, ...containerToHost(ctx, src, t.addr, s.proto, s.port) }));
    cells.push(cell('container-host', cname(src), { kind: 'host' }, t.via, checks));
  }
  return cells;
}

function containerToHost(ctx: Ctx, src: AuditContainer, addr: string, proto: L4, port: number): Result {
  const onLink = src.endpoints.find((e) => {
    const n = networkById(ctx.facts, e.networkId);
    return n?.subnet && inSubnet(addr, n.subnet);
  });
  const ep = onLink ?? egressEndpoint(ctx.facts, src);
  const net = ep ? networkById(ctx.facts, ep.networkId) : undefined;
  if (!ep || !net) return { verdict: 'denied', reason: 'no-route', detail: `${src.name} has no route to ${addr}` };
  if (net.kind === 'macvlan') return { verdict: 'denied', reason: 'macvlan-parent', detail: `macvlan children do not reach their parent's host` };
  if (net.kind === 'overlay') return overlayWayOut(src, net);
  return plain(forwarded(ctx, packet({ iif: net.bridge ?? '', saddr: ep.ip, daddr: addr, proto, dport: port }, ctx), (a) => hostRoute(ctx, a), 'local'));
}

/** Container `src` to the published binding `p` by the host's address (as other containers use it). */
export function containerToPublished(facts: AuditFacts, rs: Ruleset, src: AuditContainer, p: AuditContainer['published'][number]): Result {
  const ctx: Ctx = { facts, rs };
  const out = egressEndpoint(facts, src);
  const net = out ? networkById(facts, out.networkId) : undefined;
  const daddr = p.hostIp === '0.0.0.0' || p.hostIp.startsWith('127.') ? facts.host.uplink?.addr : p.hostIp;
  if (!out || !net?.bridge || !daddr || p.proto === 'sctp') return { verdict: 'denied', reason: 'no-route', detail: `${src.name} has no way to the host's address` };
  return publishedFromWorld(ctx, p.hostIp, packet({ iif: net.bridge, saddr: out.ip, daddr, proto: p.proto, dport: p.hostPort }, ctx));
}

/** A neighbour on the uplink sending to 127.0.0.1:port through this host (the CVE-2020-8558 class). */
export function loopbackFromOutside(facts: AuditFacts, rs: Ruleset, p: AuditContainer['published'][number]): Result {
  const ctx: Ctx = { facts, rs };
  const up = facts.host.uplink;
  if (!up || p.proto === 'sctp') return { verdict: 'denied', reason: 'no-route', detail: 'no uplink' };
  const r = forwarded(ctx, packet({ iif: up.ifname, saddr: up.gateway, daddr: '127.0.0.1', proto: p.proto, dport: p.hostPort }, ctx), (a) => hostRoute(ctx, a), 'published');
  return r.verdict === 'allowed' && !r.packet.ctStatus.includes('dnat') ? { verdict: 'denied', reason: 'not-published', detail: 'reaches the host, not the container' } : plain(r);
}
