/**
 * The two snapshots `redes doctor` compares: the daemon's state (records, allocations, the ruleset
 * the firewall state renders, the embedded DNS's names) and the kernel as it is now (namespaces,
 * links and addresses, our nftables table, cgroups, mounts, shims, runc's containers, directories).
 *
 * Use: `const state = doctorState(sources)` (synchronous: one consistent read of the records), then
 * `await kernelView(sources, state)`; hand both to `diagnose` (doctor.ts).
 *
 * Beware: every kernel read acts in the calling process's network namespace (the daemon's host
 * namespace); container namespaces are read with `ip -n`. A namespace or process that vanishes
 * while it is read counts as gone.
 */
import { readdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import { cgroupChildren, findProcesses, listAddrs, listLinks, mountsUnder, netnsList, nftTableJson, type IpAddr } from '../kernel/index.js';
import { L2_FAMILY, renderRuleset, tableElements, type FirewallState } from '../firewall/index.js';
import { runcList } from '../runtime/index.js';
import type { ContainerRecord, NetworkRecord } from '../engine/index.js';
import type { Allocation } from '../store/index.js';
import { parseRuleset, valueText, type Json } from './nft/ruleset.js';
import type { DoctorState, KernelView } from './doctor.js';

export interface DoctorSources {
  prefix: string;
  /** `<data-root>/containers`. */
  containersDir: string;
  runcRoot: string;
  containers(): ContainerRecord[];
  networks(): NetworkRecord[];
  allocations(): Allocation[];
  /** What the firewall programs now; undefined when the daemon does not program nftables. */
  firewall(): FirewallState | undefined;
  /** Containers with published ports in the firewall state. */
  portOwners(): string[];
  /** The embedded DNS's records: container id → its endpoints' network and IPv4 address. */
  dns?(): Array<[string, ReadonlyArray<{ networkId: string; ipv4?: string }>]>;
}

/** Rules per chain of the last `table <family> <table>` block of a ruleset script (`chain X {` ... `}`, `type` lines aside). */
export function renderedChains(script: string, table: string, family = 'inet'): Map<string, number> {
  const lines = script.split('\n');
  const start = lines.lastIndexOf(`table ${family} ${table} {`);
  const out = new Map<string, number>();
  let chain: string | undefined;
  for (const l of lines.slice(start + 1)) {
    // The next table (the layer-2 `bridge` table of the same name) ends ours.
    if (!chain && (l.startsWith('table ') || l.startsWith('flush '))) break;
    const m = /^chain (\S+) \{$/.exec(l);
    if (m) {
      chain = m[1] as string;
      out.set(chain, 0);
    } else if (chain && l === '}') chain = undefined;
    else if (chain && !l.startsWith('type ')) out.set(chain, (out.get(chain) ?? 0) + 1);
  }
  return out;
}

export function doctorState(src: DoctorSources): DoctorState {
  const fw = src.firewall();
  const dns = src.dns ? new Map(src.dns().map(([id, eps]) => [id, eps.filter((e) => e.ipv4).map((e) => `${e.networkId} ${e.ipv4}`)])) : undefined;
  return {
    prefix: src.prefix,
    containersDir: src.containersDir,
    containers: src.containers(),
    networks: src.networks(),
    allocations: src.allocations(),
    ...(fw ? { firewall: firewallState(fw, src) } : {}),
    ...(dns ? { dns } : {}),
  };
}

function firewallState(fw: FirewallState, src: DoctorSources): NonNullable<DoctorState['firewall']> {
  const script = renderRuleset(fw);
  return {
    table: fw.table, elements: tableElements(fw), chains: renderedChains(script, fw.table), portOwners: src.portOwners(),
    l2: { table: fw.table, guards: fw.endpoints ?? [], chains: renderedChains(script, fw.table, L2_FAMILY) },
  };
}

/** A set or map element as nft prints it: `a . b`, `k : v`. */
function elementText(e: Json): string {
  if (Array.isArray(e) && e.length === 2) return `${valueText(e[0])} : ${valueText(e[1])}`;
  return valueText(e);
}

/** One table's set elements and rules per chain, as the kernel holds them; undefined when it does not exist. */
async function tableView(family: string, table: string): Promise<{ tables: ReadonlySet<string>; elements: Map<string, string[]>; chains: Map<string, number> } | undefined> {
  const json = await nftTableJson(family, table);
  if (json === undefined) return undefined;
  const rs = parseRuleset(json);
  const elements = new Map<string, string[]>();
  for (const s of rs.sets.values()) if (s.table === table) elements.set(s.name, s.elem.map(elementText));
  const chains = new Map<string, number>();
  for (const c of rs.chains.values()) if (c.table === table) chains.set(c.name, c.rules.length);
  return { tables: rs.tables, elements, chains };
}

async function nftView(table: string): Promise<KernelView['nft']> {
  const inet = (await tableView('inet', table)) ?? { tables: new Set<string>(), elements: new Map(), chains: new Map() };
  const l2 = await tableView(L2_FAMILY, table);
  return { ...inet, ...(l2 ? { l2: { elements: l2.elements, chains: l2.chains } } : {}) };
}

const HEX64 = /^[0-9a-f]{64}$/;

export async function kernelView(src: DoctorSources, state: DoctorState): Promise<KernelView> {
  const netns = (await netnsList()).filter((n) => n.startsWith(`${src.prefix}-c-`));
  const inside = new Map<string, IpAddr[]>();
  for (const c of state.containers) {
    if (c.state.status !== 'running' || !c.netns || !netns.includes(c.netns) || inside.has(c.netns)) continue;
    const addrs = await listAddrs(c.netns).catch(() => undefined);
    if (addrs) inside.set(c.netns, addrs);
  }
  const root = resolve(src.runcRoot);
  const shims = await findProcesses((a) => (a[0] ?? '').endsWith('redes-shim') && a[1] === 'create' && a[a.indexOf('--root') + 1] === root);
  return {
    netns,
    hostLinks: await listLinks(),
    inside,
    ...(state.firewall ? { nft: await nftView(state.firewall.table) } : {}),
    cgroups: (await cgroupChildren(src.prefix)).filter((n) => HEX64.test(n)),
    mounts: await mountsUnder(src.containersDir),
    shims: shims.map((p) => ({ pid: p.pid, id: p.argv[p.argv.indexOf('--id') + 1] ?? '' })),
    runc: (await runcList({ root: src.runcRoot }).catch(() => [])).map((r) => r.id),
    dirs: (await readdir(src.containersDir).catch(() => [] as string[])).filter((n) => HEX64.test(n)),
  };
}
