/**
 * The one owner of the daemon's firewall state: bridge networks (from the bridge driver) and
 * published ports (from the port-publishing hook, by owner = container id) and legacy links allowed
 * through ICC-off bridges (from the link hook, by owner = parent container id). Every change is one nft
 * transaction: a network change re-renders the whole table; a port change is an element delta whose
 * cost does not grow with the ports already published. Changes are applied one at a time, in order.
 *
 * Use: `new FirewallManager(firewall, prefix)`; drivers call `setNetworks`, the port hook calls
 * `setPorts` / `removePorts`, the link hook `setLinks` / `removeLinks`; `reload()` re-applies everything (`redes firewall reload`, and after
 * `nft flush ruleset`).
 *
 * Beware: when a delta fails (our table or an element is gone, e.g. someone flushed the ruleset),
 * the manager falls back to a full render, which restores the whole table.
 */
import { logger } from '../util/log.js';
import type { Firewall } from './firewall.js';
import type { FirewallNetwork, FirewallState } from './render.js';
import { portElement, renderPortDelta, type FirewallPort } from './render-ports.js';
import { linkElement, renderLinkDelta, type FirewallLink } from './render-links.js';

const log = logger.child({ component: 'firewall' });

const key = (p: FirewallPort): string => {
  const e = portElement(p);
  return `${e.map} ${e.element}`;
};

export class FirewallManager {
  private networks: readonly FirewallNetwork[] = [];
  private readonly ports = new Map<string, readonly FirewallPort[]>();
  private readonly links = new Map<string, readonly FirewallLink[]>();
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly firewall: Firewall,
    readonly table: string,
  ) {}

  /** The state a full render would program now. */
  state(): FirewallState {
    return { table: this.table, networks: this.networks, ports: [...this.ports.values()].flat(), links: [...this.links.values()].flat() };
  }

  /** Replaces the bridge networks and re-renders the table. */
  setNetworks(networks: readonly FirewallNetwork[]): Promise<void> {
    this.networks = [...networks];
    return this.enqueue(() => this.applyFull());
  }

  /** Sets an owner's ports without touching the kernel (daemon start, before the first full apply). */
  loadPorts(owner: string, ports: readonly FirewallPort[]): void {
    if (ports.length) this.ports.set(owner, [...ports]);
    else this.ports.delete(owner);
  }

  /** Replaces one owner's published ports with one element delta. */
  setPorts(owner: string, ports: readonly FirewallPort[]): Promise<void> {
    const before = this.ports.get(owner) ?? [];
    this.loadPorts(owner, ports);
    const oldKeys = new Set(before.map(key));
    const newKeys = new Set(ports.map(key));
    const added = ports.filter((p) => !oldKeys.has(key(p)));
    const removed = before.filter((p) => !newKeys.has(key(p)));
    if (!added.length && !removed.length) return this.queue;
    const keep = [...this.ports.values()].flat();
    return this.enqueue(async () => {
      try {
        await this.firewall.applyDelta(renderPortDelta(this.table, added, removed, keep));
      } catch (e) {
        log.warn({ err: e, owner }, 'port delta refused; re-rendering the whole table');
        await this.applyFull();
      }
    });
  }

  removePorts(owner: string): Promise<void> {
    return this.setPorts(owner, []);
  }

  /** Replaces one owner's (a parent container's) link elements with one element delta. */
  setLinks(owner: string, links: readonly FirewallLink[]): Promise<void> {
    const before = this.links.get(owner) ?? [];
    if (links.length) this.links.set(owner, [...links]);
    else this.links.delete(owner);
    const oldKeys = new Set(before.map(linkElement));
    const newKeys = new Set(links.map(linkElement));
    const added = links.filter((l) => !oldKeys.has(linkElement(l)));
    const removed = before.filter((l) => !newKeys.has(linkElement(l)));
    if (!added.length && !removed.length) return this.queue;
    const keep = [...this.links.values()].flat();
    return this.enqueue(async () => {
      try {
        await this.firewall.applyDelta(renderLinkDelta(this.table, added, removed, keep));
      } catch (e) {
        log.warn({ err: e, owner }, 'link delta refused; re-rendering the whole table');
        await this.applyFull();
      }
    });
  }

  removeLinks(owner: string): Promise<void> {
    return this.setLinks(owner, []);
  }

  /** Owners with ports (for pruning at daemon start). */
  owners(): string[] {
    return [...this.ports.keys()];
  }

  /** Re-applies the whole table from state. */
  reload(): Promise<void> {
    return this.enqueue(() => this.applyFull());
  }

  private applyFull(): Promise<void> {
    return this.firewall.apply(this.state());
  }

  /** Runs `fn` after every earlier change; a failed change does not stop the later ones. */
  private enqueue(fn: () => Promise<void>): Promise<void> {
    const next = this.queue.then(fn, fn);
    this.queue = next.catch(() => undefined);
    return next;
  }
}
