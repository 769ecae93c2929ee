/**
 * Renders the whole nftables ruleset of one daemon from engine state, as text, with no I/O.
 *
 * One table (`inet <prefix>`) holds everything redes programs; applying the rendered text replaces
 * its contents in a single `nft -f` transaction (declare, flush, refill), so the kernel never sees
 * half a ruleset and a re-apply never duplicates rules. Everything that changes per container lives in
 * sets and maps (elements, not rules), so publishing a port is an `add element` whose cost does not
 * grow with the ports already published (see render-ports.ts for those deltas).
 *
 * Chains and what they do:
 * - `guard` (filter, prerouting, raw): a packet for 127.0.0.0/8 or ::1 that did not come from `lo`
 *   is dropped before NAT sees it. We set route_localnet=1 on our bridges (for host → 127.0.0.1
 *   published ports), which is exactly the CVE-2020-8558 / moby#45610 hole without this rule.
 * - `prerouting`, `output` (nat, dstnat): packets for one of the host's own addresses go through
 *   `publish`, which DNATs by the maps `pubip4`/`pubip6` (a host address . proto . port) and
 *   `pubany4`/`pubany6` (proto . port, for bindings on 0.0.0.0 / ::).
 * - `input` (filter): a container may not use the gateway address of another of our bridges
 *   (isolation by gateway address).
 * - `forward` (filter): same-bridge traffic where ICC is on; internal bridges have no way in or out;
 *   replies; published (DNATed) traffic; nothing else between bridges; and nothing from elsewhere into
 *   a bridge that is not a reply or a published port (Docker 28's "DROP DIRECT ACCESS").
 *   Legacy links pass before the ICC-off drop: parent . target . proto . port in `links4` (render-links.ts).
 * - `postrouting` (nat, srcnat): hairpin (a container to itself through its published port),
 *   host → 127.0.0.1 published ports, and each network's masquerade when leaving by another interface.
 *
 * - table `bridge <prefix>`: layer-2 anti-spoofing on the containers' bridge ports (render-l2.ts).
 *
 * The operators' own table `inet <prefix>-user` (chain `forward`, priority filter - 1) is declared
 * here but never flushed: rules put there survive every re-render (README "Firewall").
 *
 * Beware: nftables 1.0.6 wants each rule and each closing brace on its own line. Priorities are
 * nftables' standard names (https://wiki.nftables.org/wiki-nftables/index.php/Netfilter_hooks).
 */
import { portElements, type FirewallPort } from './render-ports.js';
import { LINKS_SET, linkElements, type FirewallLink } from './render-links.js';
import { L2_FAMILY, renderL2Table, type FirewallEndpoint } from './render-l2.js';

export interface FirewallNetwork {
  /** Network id; its short form is written in a comment so a reader can map rules to networks. */
  id: string;
  /** Bridge device name. */
  bridge: string;
  subnetsV4: readonly string[];
  subnetsV6: readonly string[];
  /** Addresses of the bridge itself (isolation by gateway address). */
  gatewaysV4?: readonly string[];
  gatewaysV6?: readonly string[];
  internal: boolean;
  masquerade: boolean;
  icc: boolean;
}

export interface FirewallState {
  /** Name of our table (the instance prefix). */
  table: string;
  networks: readonly FirewallNetwork[];
  /** Published ports of all containers. */
  ports?: readonly FirewallPort[];
  /** Legacy links allowed through ICC-off bridges (render-links.ts). */
  links?: readonly FirewallLink[];
  /** Container endpoints on bridge ports, guarded against forged sources (render-l2.ts). */
  endpoints?: readonly FirewallEndpoint[];
}

export const TABLE_FAMILY = 'inet';
/** The operators' table next to ours; redes declares it and never touches its rules. */
export const userTable = (table: string): string => `${table}-user`;

/** Every set and map of our table with its type: declared before the flush, refilled after it. */
export const SETS: ReadonlyArray<readonly [kind: 'set' | 'map', name: string, type: string]> = [
  ['set', 'bridges', 'ifname'],
  ['set', 'internal', 'ifname'],
  ['set', 'icc', 'ifname . ifname'],
  ['set', 'gw4', 'ifname . ipv4_addr'],
  ['set', 'gwaddr4', 'ipv4_addr'],
  ['set', 'gw6', 'ifname . ipv6_addr'],
  ['set', 'gwaddr6', 'ipv6_addr'],
  ['map', 'pubany4', 'inet_proto . inet_service : ipv4_addr . inet_service'],
  ['map', 'pubip4', 'ipv4_addr . inet_proto . inet_service : ipv4_addr . inet_service'],
  ['map', 'pubany6', 'inet_proto . inet_service : ipv6_addr . inet_service'],
  ['map', 'pubip6', 'ipv6_addr . inet_proto . inet_service : ipv6_addr . inet_service'],
  ['set', 'hairpin4', 'ipv4_addr . ipv4_addr'],
  ['set', 'hairpin6', 'ipv6_addr . ipv6_addr'],
  ['set', LINKS_SET, 'ipv4_addr . ipv4_addr . inet_proto . inet_service'],
];

/** The sets whose elements come from the networks alone (a network change flushes and refills only these). */
export const NETWORK_SETS: ReadonlySet<string> = new Set(['bridges', 'internal', 'icc', 'gw4', 'gwaddr4', 'gw6', 'gwaddr6']);

const q = (s: string): string => `"${s}"`;
const uniq = (xs: string[]): string[] => [...new Set(xs)].sort();

function declare(kind: string, name: string, type: string, elements: string[] = []): string[] {
  return [`${kind} ${name} {`, `type ${type}`, ...(elements.length ? [`elements = { ${elements.join(', ')} }`] : []), '}'];
}

/**
 * The elements every set and map of our table holds for `state`, as nft text (`"br-x" . 10.0.0.1`,
 * `tcp . 8080 : 172.18.0.2 . 80`); the consistency checker compares them with the live table.
 */
export function tableElements(state: FirewallState): Record<string, string[]> {
  const nets = [...state.networks].sort((a, b) => a.bridge.localeCompare(b.bridge));
  const el: Record<string, string[]> = {
    bridges: nets.map((n) => q(n.bridge)),
    internal: nets.filter((n) => n.internal).map((n) => q(n.bridge)),
    icc: nets.filter((n) => n.icc).map((n) => `${q(n.bridge)} . ${q(n.bridge)}`),
    gw4: nets.flatMap((n) => (n.gatewaysV4 ?? []).map((g) => `${q(n.bridge)} . ${g}`)),
    gwaddr4: uniq(nets.flatMap((n) => [...(n.gatewaysV4 ?? [])])),
    gw6: nets.flatMap((n) => (n.gatewaysV6 ?? []).map((g) => `${q(n.bridge)} . ${g}`)),
    gwaddr6: uniq(nets.flatMap((n) => [...(n.gatewaysV6 ?? [])])),
  };
  for (const [set, items] of portElements(state.ports ?? [])) el[set] = items;
  el[LINKS_SET] = linkElements(state.links ?? []);
  return el;
}

export function renderRuleset(state: FirewallState): string {
  const nets = [...state.networks].sort((a, b) => a.bridge.localeCompare(b.bridge));
  const t = `${TABLE_FAMILY} ${state.table}`;
  const out: string[] = [];
  // The user table: declaring an existing table or chain changes nothing, so their rules stay.
  out.push(`table ${TABLE_FAMILY} ${userTable(state.table)} {`, 'chain forward {', 'type filter hook forward priority filter - 1; policy accept;', '}', '}');
  // Declare (a no-op when present), flush, refill: cheaper than deleting the table, which waits for
  // the kernel to retire it, and just as atomic inside one transaction. `flush table` empties the
  // chains only, so every set is flushed by name.
  out.push(`table ${t} {`, ...SETS.flatMap(([k, n, ty]) => declare(k, n, ty)), '}');
  out.push(`flush table ${t}`, ...SETS.map(([k, n]) => `flush ${k} ${t} ${n}`), `table ${t} {`);

  const el = tableElements(state);
  for (const [kind, name, type] of SETS) out.push(...declare(kind, name, type, el[name] ?? []));
  out.push(...renderChains(nets), '}');
  // Layer 2 (table `bridge <prefix>`), in the same transaction.
  out.push(...renderL2Table(state.table, state.endpoints ?? []));
  return out.join('\n') + '\n';
}

/**
 * What a network create or removal changes, given that the last full render of this daemon is in
 * the kernel: every chain is flushed and rewritten and the network sets refilled, while the
 * elements of containers (published ports, hairpins, links, the layer-2 table) stay as they are.
 * A full render's cost grows with the containers (about 0.5 s of nft at 1000 guarded endpoints);
 * this one does not. Without our table (say, after `nft flush ruleset`) the first line fails the
 * whole transaction, and the caller renders everything instead.
 */
export function renderNetworkChange(state: FirewallState): string {
  const nets = [...state.networks].sort((a, b) => a.bridge.localeCompare(b.bridge));
  const t = `${TABLE_FAMILY} ${state.table}`;
  const sets = SETS.filter(([, n]) => NETWORK_SETS.has(n));
  const out = [`flush table ${t}`, ...sets.map(([k, n]) => `flush ${k} ${t} ${n}`), `table ${t} {`];
  const el = tableElements({ ...state, ports: [], links: [] });
  for (const [kind, name, type] of sets) out.push(...declare(kind, name, type, el[name] ?? []));
  out.push(...renderChains(nets), '}');
  return out.join('\n') + '\n';
}

/** The chains of our inet table (inside its `table { }` block), for these networks sorted by bridge. */
function renderChains(nets: readonly FirewallNetwork[]): string[] {
  const out: string[] = [];
  out.push('chain guard {', 'type filter hook prerouting priority raw; policy accept;');
  out.push('iifname != "lo" ip daddr 127.0.0.0/8 drop comment "CVE-2020-8558"');
  out.push('iifname != "lo" ip6 daddr ::1 drop comment "CVE-2020-8558"', '}');

  // nft 1.0.6 accepts the name `dstnat` on prerouting only; -100 is its value (NF_IP_PRI_NAT_DST).
  for (const [hook, prio] of [['prerouting', 'dstnat'], ['output', '-100']]) {
    out.push(`chain ${hook} {`, `type nat hook ${hook} priority ${prio}; policy accept;`, 'fib daddr type local jump publish', '}');
  }
  out.push('chain publish {');
  out.push('dnat ip to ip daddr . meta l4proto . th dport map @pubip4');
  out.push('dnat ip to meta l4proto . th dport map @pubany4');
  // ::1 cannot leave the host (no route_localnet for IPv6): such a DNAT could never be answered.
  out.push('ip6 daddr ::1 return');
  out.push('dnat ip6 to ip6 daddr . meta l4proto . th dport map @pubip6');
  out.push('dnat ip6 to meta l4proto . th dport map @pubany6', '}');

  out.push('chain input {', 'type filter hook input priority filter; policy accept;');
  out.push('ip daddr @gwaddr4 iifname @bridges iifname . ip daddr != @gw4 drop comment "gateway of another network"');
  out.push('ip6 daddr @gwaddr6 iifname @bridges iifname . ip6 daddr != @gw6 drop comment "gateway of another network"', '}');

  out.push('chain forward {', 'type filter hook forward priority filter; policy accept;');
  out.push('iifname . oifname @icc accept');
  out.push('iifname @internal drop comment "internal"', 'oifname @internal drop comment "internal"');
  out.push('ct state established,related accept');
  // Before the ICC-off drop ("isolation"): a linked parent may open connections to its target's exposed ports.
  out.push(`ip saddr . ip daddr . meta l4proto . th dport @${LINKS_SET} accept comment "links"`);
  out.push('ct status dnat oifname @bridges accept comment "published"');
  out.push('iifname @bridges oifname @bridges drop comment "isolation"');
  out.push('oifname @bridges drop comment "direct access"', '}');

  out.push('chain postrouting {', 'type nat hook postrouting priority srcnat; policy accept;');
  out.push('ip saddr . ip daddr @hairpin4 masquerade comment "hairpin"');
  out.push('ip6 saddr . ip6 daddr @hairpin6 masquerade comment "hairpin"');
  out.push('ct status dnat oifname @bridges ip saddr 127.0.0.0/8 masquerade comment "host to 127.0.0.1"');
  for (const n of nets) {
    if (n.internal || !n.masquerade) continue;
    for (const s of n.subnetsV4) out.push(`ip saddr ${s} oifname != ${q(n.bridge)} masquerade comment ${q(n.id.slice(0, 12))}`);
    for (const s of n.subnetsV6) out.push(`ip6 saddr ${s} oifname != ${q(n.bridge)} masquerade comment ${q(n.id.slice(0, 12))}`);
  }
  out.push('}');
  return out;
}

/** The script that removes our tables (teardown); harmless when they are missing. The user table stays. */
export function renderTeardown(table: string): string {
  return [TABLE_FAMILY, L2_FAMILY].map((f) => `table ${f} ${table}\ndelete table ${f} ${table}\n`).join('');
}
