/**
 * Published ports as nftables set and map elements, and the delta script that adds or removes one
 * container's elements without touching anything else (one `nft -f` with a few `add element` /
 * `delete element` lines: its cost depends on the ports changed, not on those already there).
 *
 * Use: `portElements(ports)` for the full render; `renderPortDelta(table, added, removed)` per change.
 *
 * Beware: `delete element` of a missing element fails the whole transaction; the caller falls back to
 * a full render when a delta fails (e.g. after someone ran `nft flush ruleset`).
 */

export type FirewallProto = 'tcp' | 'udp' | 'sctp';

export interface FirewallPort {
  family: 4 | 6;
  proto: FirewallProto;
  /** A host address, or 0.0.0.0 / :: for every local address of the family. */
  hostIp: string;
  hostPort: number;
  containerIp: string;
  containerPort: number;
}

const ANY = new Set(['0.0.0.0', '::']);

/** The map and the `key : value` element of one published port. */
export function portElement(p: FirewallPort): { map: string; element: string } {
  const any = ANY.has(p.hostIp);
  const map = `${any ? 'pubany' : 'pubip'}${p.family}`;
  const key = any ? `${p.proto} . ${p.hostPort}` : `${p.hostIp} . ${p.proto} . ${p.hostPort}`;
  return { map, element: `${key} : ${p.containerIp} . ${p.containerPort}` };
}

/** The hairpin element of a container address (it masquerades a container talking to itself). */
function hairpinElement(p: FirewallPort): { set: string; element: string } {
  return { set: `hairpin${p.family}`, element: `${p.containerIp} . ${p.containerIp}` };
}

/** Elements of every port-related set and map, sorted, without duplicates. */
export function portElements(ports: readonly FirewallPort[]): Map<string, string[]> {
  const out = new Map<string, Set<string>>();
  const add = (set: string, e: string): void => {
    const s = out.get(set) ?? new Set<string>();
    s.add(e);
    out.set(set, s);
  };
  for (const p of ports) {
    const pe = portElement(p);
    add(pe.map, pe.element);
    const h = hairpinElement(p);
    add(h.set, h.element);
  }
  return new Map([...out].map(([k, v]) => [k, [...v].sort(compareElements)]));
}

/**
 * Numeric-aware order of set elements, so goldens read naturally (stable is what matters). One
 * collator for every sort: `localeCompare` with a locale builds one per call, which made sorting a
 * thousand elements cost hundreds of milliseconds.
 */
export const compareElements: (a: string, b: string) => number = new Intl.Collator('en', { numeric: true }).compare;

/**
 * The script that removes `removed` and adds `added` in one transaction. Hairpin elements are
 * removed only when no port of `keep` (the state after the change) still needs them.
 */
export function renderPortDelta(table: string, added: readonly FirewallPort[], removed: readonly FirewallPort[], keep: readonly FirewallPort[]): string {
  const t = `inet ${table}`;
  const lines: string[] = [];
  const del = portElements(removed);
  // Only a hairpin element can be shared (map keys are unique): look at the ports of those addresses.
  const ips = new Set(removed.map((p) => p.containerIp));
  const still = portElements(removed.length ? keep.filter((p) => ips.has(p.containerIp)) : []);
  for (const [set, items] of del) {
    const need = new Set(still.get(set) ?? []);
    const gone = items.filter((e) => !need.has(e));
    if (gone.length) lines.push(`delete element ${t} ${set} { ${gone.join(', ')} }`);
  }
  for (const [set, items] of portElements(added)) lines.push(`add element ${t} ${set} { ${items.join(', ')} }`);
  return lines.length ? lines.join('\n') + '\n' : '';
}
