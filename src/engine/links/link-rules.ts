/**
 * The firewall side of legacy links: on a bridge with ICC off, a parent (`--link target:alias`) may
 * open connections to the target's exposed ports (Config.ExposedPorts) and nothing else, as Docker
 * programs one rule per exposed port (replies pass by conntrack). The elements are owned by the
 * parent: added when it starts, dropped when it stops or is removed, and recomputed when one of its
 * targets starts (a new address), stops (its address may go to another container) or changes
 * networks, or when a link is removed with `docker rm --link`.
 *
 * Use: `new LinkRules({ firewall, networks, containers })`; link-hooks.ts calls it from its hooks.
 *
 * Beware: IPv4 only, like Docker's links. `live` holds the parents whose elements are programmed;
 * a target event refreshes only those, so a parent that is stopping never gets elements back.
 */
import type { PortProto } from '../../ipam/index.js';
import { strList } from '../containers/container-config.js';
import type { ContainerRecord } from '../containers/container-types.js';
import type { ContainerLookup } from '../discovery/dns-hooks.js';
import type { NetworkRecord } from '../networks/network-record.js';

/** One allowed parent → target port (the firewall's FirewallLink, by shape: engine/ may not import firewall/). */
export interface LinkRule {
  src: string;
  dst: string;
  proto: PortProto;
  port: number;
}

/** What the link hook needs of the firewall manager. */
export interface LinkFirewall {
  setLinks(owner: string, rules: readonly LinkRule[]): Promise<void>;
  removeLinks(owner: string): Promise<void>;
}

export interface LinkRulesDeps {
  firewall: LinkFirewall;
  containers: ContainerLookup;
  /** To read the network's ICC; without it, elements are programmed whatever ICC says. */
  networks?: { get(id: string): NetworkRecord | undefined };
}

const PORT = /^(\d+)(?:-(\d+))?(?:\/(tcp|udp|sctp))?$/;

/** `80/tcp`, `53/udp`, `8000-8002/tcp` → (proto, port) pairs; anything else is skipped. */
export function exposedPorts(exposed: unknown): Array<{ proto: PortProto; port: number }> {
  const out: Array<{ proto: PortProto; port: number }> = [];
  for (const key of Object.keys(exposed && typeof exposed === 'object' ? exposed : {})) {
    const m = PORT.exec(key);
    if (!m) continue;
    const lo = Number(m[1]);
    const hi = m[2] ? Number(m[2]) : lo;
    const proto = (m[3] ?? 'tcp') as PortProto;
    for (let p = lo; p <= hi && p <= 65535; p++) if (p > 0) out.push({ proto, port: p });
  }
  return out;
}

/** The stored link `/target:/parent/alias` → target name (the same shape link-hooks.ts stores). */
const targetName = (l: string): string | undefined => /^\/?([^:]+):\//.exec(l)?.[1];

export class LinkRules {
  private readonly live = new Set<string>();

  constructor(private readonly deps: LinkRulesDeps) {}

  /** The parent starts (its endpoints joined): program its elements. */
  async parentStarting(parent: ContainerRecord): Promise<void> {
    this.live.add(parent.id);
    await this.deps.firewall.setLinks(parent.id, this.rulesOf(parent));
  }

  /** The parent stops or is removed. */
  async parentGone(id: string): Promise<void> {
    this.live.delete(id);
    await this.deps.firewall.removeLinks(id);
  }

  /** A container started, stopped (`gone`) or changed networks: refresh the live parents linking to it. */
  async targetChanged(target: ContainerRecord, gone = false): Promise<void> {
    // The live parents only (usually none), each by id: listing every container here made each start
    // and stop parse all the records.
    for (const id of [...this.live]) {
      const p = id === target.id ? undefined : this.lookup(id);
      if (!p) continue;
      if (!strList(p.hostConfig.Links, 'HostConfig.Links').some((l) => targetName(l) === target.name)) continue;
      await this.deps.firewall.setLinks(p.id, this.rulesOf(p, gone ? target.id : undefined));
    }
  }

  /** Recompute one parent (after `docker rm --link`); no-op when it is not running. */
  async refresh(parent: ContainerRecord): Promise<void> {
    if (this.live.has(parent.id)) await this.deps.firewall.setLinks(parent.id, this.rulesOf(parent));
  }

  /** Daemon start: the manager starts empty; program the running parents again. */
  async restore(running: readonly ContainerRecord[]): Promise<void> {
    for (const r of running) if (strList(r.hostConfig.Links, 'HostConfig.Links').length) await this.parentStarting(r);
  }

  /** Elements of a parent: every running target's exposed ports, from the parent's default-bridge address. */
  rulesOf(parent: ContainerRecord, skipTarget?: string): LinkRule[] {
    const ep = parent.endpoints.bridge;
    if (!ep?.ipv4Address || !this.iccOff(ep.networkId)) return [];
    const out: LinkRule[] = [];
    for (const l of strList(parent.hostConfig.Links, 'HostConfig.Links')) {
      const name = targetName(l);
      const t = name === undefined ? undefined : this.lookup(name);
      if (!t || t.id === skipTarget || t.state.status !== 'running') continue;
      const dst = t.endpoints.bridge?.ipv4Address;
      if (!dst) continue;
      for (const { proto, port } of exposedPorts(t.config.ExposedPorts)) out.push({ src: ep.ipv4Address, dst, proto, port });
    }
    return out;
  }

  private iccOff(networkId: string): boolean {
    const net = this.deps.networks?.get(networkId);
    return !net || !net.driverOptions.icc;
  }

  private lookup(term: string): ContainerRecord | undefined {
    try {
      return this.deps.containers.resolve(term);
    } catch {
      return undefined;
    }
  }
}
