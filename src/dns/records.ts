/**
 * The name table of the embedded DNS server: which names each container's endpoints answer to, per
 * network, and the reverse (PTR) entries. Pure data, no I/O.
 *
 * Use: `setContainer(id, endpoints)` whenever a container starts, joins, leaves or is renamed (it
 * replaces everything known about that container), `deleteContainer(id)` when it stops; `lookup` and
 * `reverse` take the networks of the asking container, so a container only sees peers on networks it
 * shares with them (Docker's scoping).
 *
 * Beware: names are matched without case and without a trailing dot. Several endpoints may share a
 * name (a shared `--network-alias`): all their addresses are returned; `roundRobin` orders an answer.
 */

export interface DnsEndpoint {
  containerId: string;
  networkId: string;
  networkName: string;
  /** Names answered: container name first, then aliases, short id and hostname. */
  names: string[];
  ipv4?: string;
  ipv6?: string;
}

export interface Addresses {
  v4: string[];
  v6: string[];
}

const norm = (name: string): string => name.toLowerCase().replace(/\.$/, '');

export class DnsRecords {
  private readonly byContainer = new Map<string, DnsEndpoint[]>();
  /** networkId → name → endpoints answering it. */
  private readonly names = new Map<string, Map<string, DnsEndpoint[]>>();
  /** networkId → address → endpoint. */
  private readonly addrs = new Map<string, Map<string, DnsEndpoint>>();
  private turn = 0;

  /** Replaces every record of the container (an empty list removes it). */
  setContainer(containerId: string, endpoints: readonly DnsEndpoint[]): void {
    this.deleteContainer(containerId);
    if (endpoints.length === 0) return;
    this.byContainer.set(containerId, [...endpoints]);
    for (const ep of endpoints) {
      let names = this.names.get(ep.networkId);
      if (!names) this.names.set(ep.networkId, (names = new Map()));
      for (const n of new Set(ep.names.map(norm))) {
        const list = names.get(n);
        if (list) list.push(ep);
        else names.set(n, [ep]);
      }
      let addrs = this.addrs.get(ep.networkId);
      if (!addrs) this.addrs.set(ep.networkId, (addrs = new Map()));
      if (ep.ipv4) addrs.set(ep.ipv4, ep);
      if (ep.ipv6) addrs.set(ep.ipv6, ep);
    }
  }

  /** Every container with records, and its endpoints (the consistency checker compares them). */
  entries(): Array<[containerId: string, endpoints: readonly DnsEndpoint[]]> {
    return [...this.byContainer];
  }

  deleteContainer(containerId: string): void {
    const old = this.byContainer.get(containerId);
    if (!old) return;
    this.byContainer.delete(containerId);
    for (const ep of old) {
      const names = this.names.get(ep.networkId);
      for (const n of new Set(ep.names.map(norm))) {
        const rest = (names?.get(n) ?? []).filter((e) => e.containerId !== containerId);
        if (rest.length) names?.set(n, rest);
        else names?.delete(n);
      }
      const addrs = this.addrs.get(ep.networkId);
      for (const a of [ep.ipv4, ep.ipv6]) if (a && addrs?.get(a)?.containerId === containerId) addrs.delete(a);
      if (names?.size === 0) this.names.delete(ep.networkId);
      if (addrs?.size === 0) this.addrs.delete(ep.networkId);
    }
  }

  endpointsOf(containerId: string): readonly DnsEndpoint[] {
    return this.byContainer.get(containerId) ?? [];
  }

  /**
   * Addresses of `name` seen from `networkIds`; undefined when no shared network knows the name
   * (the query then goes upstream). `name.network` limits the search to that network, as Docker does.
   */
  lookup(networkIds: readonly string[], name: string): Addresses | undefined {
    const n = norm(name);
    let found = this.collect(networkIds, n);
    if (!found) {
      for (const id of networkIds) {
        const netName = this.networkName(id);
        if (netName && n.endsWith(`.${netName}`)) {
          found = this.collect([id], n.slice(0, -netName.length - 1));
          if (found) break;
        }
      }
    }
    if (!found) return undefined;
    const v4 = [...new Set(found.flatMap((e) => (e.ipv4 ? [e.ipv4] : [])))];
    const v6 = [...new Set(found.flatMap((e) => (e.ipv6 ? [e.ipv6] : [])))];
    return { v4, v6 };
  }

  /**
   * `list` rotated by one more place than last time (Docker shuffles shared-alias answers; a
   * rotation gives every address its turn first). Call once per answer of one family.
   */
  roundRobin<T>(list: T[]): T[] {
    if (list.length < 2) return list;
    const i = this.turn++ % list.length;
    return [...list.slice(i), ...list.slice(0, i)];
  }

  /** `container.network` for an address on one of `networkIds` (Docker's PTR answer). */
  reverse(networkIds: readonly string[], address: string): string | undefined {
    for (const id of networkIds) {
      const ep = this.addrs.get(id)?.get(address);
      if (ep && ep.names[0]) return `${ep.names[0]}.${ep.networkName}`;
    }
    return undefined;
  }

  private collect(networkIds: readonly string[], n: string): DnsEndpoint[] | undefined {
    const out: DnsEndpoint[] = [];
    for (const id of networkIds) out.push(...(this.names.get(id)?.get(n) ?? []));
    return out.length ? out : undefined;
  }

  private networkName(networkId: string): string | undefined {
    for (const ep of this.addrs.get(networkId)?.values() ?? []) return ep.networkName.toLowerCase();
    for (const list of this.names.get(networkId)?.values() ?? []) if (list[0]) return list[0].networkName.toLowerCase();
    return undefined;
  }
}
