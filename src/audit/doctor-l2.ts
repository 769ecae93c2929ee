/**
 * `redes doctor`'s layer-2 rules: the anti-spoofing table `bridge <prefix>` (firewall/render-l2.ts)
 * against the endpoints. Three sides are compared: the running containers' bridge endpoints (port,
 * MAC, addresses, as the records say), the guards the firewall state holds, and the elements of the
 * kernel's sets. A port guarded with a stale MAC or address drops its container's own traffic; a
 * port missing from the sets is not guarded at all; both are reported.
 *
 * Use: `l2Diffs(state, kernel)` inside `diagnose` (doctor.ts); pure, unit-tested on snapshots.
 * Beware: a kernel element the firewall state would restore gets the `reload-firewall` repair; when
 * the firewall state itself disagrees with the records, a reload would not help, so the difference
 * is only reported. IPv6 addresses are compared in their canonical text (nft prints them so).
 */
import { l2Elements, L2_FAMILY, L2_SETS, type FirewallEndpoint } from '../firewall/index.js';
import type { ContainerRecord, NetworkRecord } from '../engine/index.js';
import type { Difference, Repair } from './doctor.js';

/** The daemon's layer-2 side: the guards of the firewall state and the chains it renders. */
export interface L2State {
  table: string;
  guards: readonly FirewallEndpoint[];
  chains: ReadonlyMap<string, number>;
}

/** The kernel's `bridge <table>`: undefined when it does not exist. */
export interface L2Kernel {
  elements: ReadonlyMap<string, readonly string[]>;
  chains: ReadonlyMap<string, number>;
}

const reload: Repair = { action: 'reload-firewall' };

/** The guard each running container's bridge endpoint should have, from the records alone. */
export function wantedGuards(containers: readonly ContainerRecord[], networks: readonly NetworkRecord[], isBridge: (n: NetworkRecord) => boolean): Map<string, { guard: FirewallEndpoint; owner: string }> {
  const bridged = new Set(networks.filter(isBridge).map((n) => n.id));
  const out = new Map<string, { guard: FirewallEndpoint; owner: string }>();
  for (const c of containers) {
    if (c.state.status !== 'running' || !c.netns || c.networkMode.startsWith('container:') || c.networkMode === 'host') continue;
    for (const [name, e] of Object.entries(c.endpoints)) {
      if (!e.hostIfname || !bridged.has(e.networkId)) continue;
      const guard: FirewallEndpoint = { port: e.hostIfname, mac: e.macAddress.toLowerCase(), ...(e.ipv4Address ? { ipv4: e.ipv4Address } : {}), ...(e.ipv6Address ? { ipv6: e.ipv6Address } : {}) };
      out.set(e.hostIfname, { guard, owner: `${c.name} on ${name}` });
    }
  }
  return out;
}

/** nft's text of an element: quotes dropped, IPv6 addresses canonical. */
export function normElement(e: string): string {
  return e
    .replace(/"/g, '')
    .split(' . ')
    .map((p) => (p.includes(':') && !/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/i.test(p) && !p.startsWith('0x') ? canonical6(p) : p))
    .join(' . ');
}

function canonical6(a: string): string {
  try {
    return new URL(`http://[${a}]/`).hostname.slice(1, -1);
  } catch {
    return a;
  }
}

const guardText = (g: FirewallEndpoint): string => `mac ${g.mac.toLowerCase()}, ipv4 ${g.ipv4 ?? '-'}, ipv6 ${g.ipv6 ?? '-'}`;

export function l2Diffs(want: ReadonlyMap<string, { guard: FirewallEndpoint; owner: string }>, s: L2State, k: L2Kernel | undefined): Difference[] {
  const out: Difference[] = [];
  // The firewall state against the records.
  const held = new Map(s.guards.map((g) => [g.port, g]));
  for (const [port, { guard, owner }] of want) {
    const g = held.get(port);
    if (!g) out.push({ kind: 'l2', object: `port ${port}`, problem: `endpoint of ${owner} is not guarded in the firewall state` });
    else if (guardText(g) !== guardText(guard)) out.push({ kind: 'l2', object: `port ${port}`, problem: `guarded with ${guardText(g)}, the endpoint of ${owner} has ${guardText(guard)}` });
  }
  for (const port of held.keys()) if (!want.has(port)) out.push({ kind: 'l2', object: `port ${port}`, problem: 'guarded in the firewall state, but no running endpoint uses it' });
  // The kernel against the records; a reload fixes what the firewall state renders right.
  const t = `${L2_FAMILY} ${s.table}`;
  if (!k) return [...out, { kind: 'l2', object: `table ${t}`, problem: 'missing: no bridge port is guarded', repair: reload }];
  const fromRecords = l2Elements([...want.values()].map((w) => w.guard));
  const fromState = l2Elements(s.guards);
  for (const [set] of L2_SETS) {
    const have = k.elements.get(set);
    if (!have) {
      out.push({ kind: 'l2', object: `set ${set}`, problem: 'missing', repair: reload });
      continue;
    }
    const w = new Set((fromRecords.get(set) ?? []).map(normElement));
    const st = new Set((fromState.get(set) ?? []).map(normElement));
    const h = new Set(have.map(normElement));
    const fix = (e: string, inKernel: boolean): { repair?: Repair } => (st.has(e) !== inKernel && w.has(e) !== inKernel ? { repair: reload } : {});
    for (const e of h) if (!w.has(e)) out.push({ kind: 'l2', object: `${set} element ${e}`, problem: 'in the kernel, no running endpoint has it', ...fix(e, true) });
    for (const e of w) if (!h.has(e)) out.push({ kind: 'l2', object: `${set} element ${e}`, problem: 'an endpoint\'s element missing in the kernel', ...fix(e, false) });
  }
  for (const [chain, rules] of s.chains) {
    const have = k.chains.get(chain);
    if (have === undefined) out.push({ kind: 'l2', object: `chain ${chain}`, problem: 'missing', repair: reload });
    else if (have !== rules) out.push({ kind: 'l2', object: `chain ${chain}`, problem: `holds ${have} rules, the state renders ${rules}`, repair: reload });
  }
  return out;
}
