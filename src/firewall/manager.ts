/**
 * The one owner of the daemon's firewall state: bridge networks (from the bridge driver) and
 * published ports (from the port-publishing hook, by owner = container id) and legacy links allowed
 * through ICC-off bridges (from the link hook, by owner = parent container id) and containers' bridge
 * ports guarded at layer 2 (from the bridge driver, by owner = endpoint id). Every change is one nft
 * transaction: a network change rewrites the chains and the network sets (the whole table the first
 * time, and after any state loaded without the kernel); a port change is an element delta whose
 * cost does not grow with the ports already published. Changes are applied one at a time, in order.
 *
 * Use: `new FirewallManager(firewall, prefix)`; drivers call `setNetworks`, the port hook calls
 * `setPorts` / `removePorts`, the link hook `setLinks` / `removeLinks`, the bridge driver `setEndpoint`; `reload()` re-applies everything (`redes firewall reload`, and after
 * `nft flush ruleset`).
 *
 * Beware: when a delta fails (our table or an element is gone, e.g. someone flushed the ruleset),
 * the manager falls back to a full render, which restores the whole table.
 */
import { logger } from '../util/index.js';
import type { Firewall } from './firewall.js';
import { renderNetworkChange, type FirewallNetwork, type FirewallState } from './render.js';
import { portElement, renderPortDelta, type FirewallPort } from './render-ports.js';
import { linkElement, renderLinkDelta, type FirewallLink } from './render-links.js';
import { l2Key, renderL2Delta, type FirewallEndpoint } from './render-l2.js';
import { ElementBook } from './element-book.js';

const log = logger.child({ component: 'firewall' });

const key = (p: FirewallPort): string => {
  const e = portElement(p);
  return `${e.map} ${e.element}`;
};

export class FirewallManager {
  private networks: readonly FirewallNetwork[] = [];
  // By the key two owners can share an element under (what a removal must check): a hairpin element
  // is per container address, a link element is itself, a guarded port's elements are per port.
  private readonly ports = new ElementBook<FirewallPort>((p) => p.containerIp);
  private readonly links = new ElementBook<FirewallLink>(linkElement);
  private readonly endpoints = new ElementBook<FirewallEndpoint>((e) => e.port);
  private queue: Promise<void> = Promise.resolve();
  /**
   * True while the kernel holds what the last full render and the deltas since made of `state()`;
   * false at first, after a `load*` (state changed without the kernel) and after a failed full render.
   */
  private kernelInStep = false;

  constructor(
    private readonly firewall: Firewall,
    readonly table: string,
  ) {}

  /** The state a full render would program now. */
  state(): FirewallState {
    return {
      table: this.table,
      networks: this.networks,
      ports: this.ports.all(),
      links: this.links.all(),
      endpoints: this.endpoints.all(),
    };
  }

  /**
   * Replaces the bridge networks: chains and network sets are rewritten, the containers' elements
   * kept (the whole table when the kernel may not hold them, or when nft refuses the change).
   */
  setNetworks(networks: readonly FirewallNetwork[]): Promise<void> {
    this.networks = [...networks];
    return this.enqueue(async () => {
      if (!this.kernelInStep) return this.applyFull();
      try {
        await this.firewall.applyDelta(renderNetworkChange(this.state()));
      } catch (e) {
        log.warn({ err: e }, 'network change refused; re-rendering the whole table');
        await this.applyFull();
      }
    });
  }

  /** Sets an owner's ports without touching the kernel (daemon start, before the first full apply). */
  loadPorts(owner: string, ports: readonly FirewallPort[]): void {
    this.kernelInStep = false;
    this.ports.set(owner, ports);
  }

  /** Replaces one owner's published ports with one element delta. */
  setPorts(owner: string, ports: readonly FirewallPort[]): Promise<void> {
    return this.setElements('port', this.ports, owner, ports, key, (added, removed, keep) => renderPortDelta(this.table, added, removed, keep));
  }

  removePorts(owner: string): Promise<void> {
    return this.setPorts(owner, []);
  }

  /** Replaces one owner's (a parent container's) link elements with one element delta. */
  setLinks(owner: string, links: readonly FirewallLink[]): Promise<void> {
    return this.setElements('link', this.links, owner, links, linkElement, (added, removed, keep) => renderLinkDelta(this.table, added, removed, keep));
  }

  removeLinks(owner: string): Promise<void> {
    return this.setLinks(owner, []);
  }

  /** Sets or drops a guarded endpoint (owner: its endpoint id) without touching the kernel (daemon start). */
  loadEndpoint(owner: string, ep: FirewallEndpoint | undefined): void {
    this.kernelInStep = false;
    this.endpoints.set(owner, ep ? [ep] : []);
  }

  /** Guards a bridge port against forged sources (layer 2), or stops guarding it (`undefined`), with one element delta. */
  setEndpoint(owner: string, ep: FirewallEndpoint | undefined): Promise<void> {
    return this.setElements('endpoint', this.endpoints, owner, ep ? [ep] : [], l2Key, (added, removed, keep) => renderL2Delta(this.table, added, removed, keep));
  }

  /**
   * The shared path of ports and links: record an owner's new elements, render only what changed
   * (elements another owner still needs are kept), apply it; if the kernel refuses the delta (say,
   * after `nft flush ruleset`), fall back to the full table.
   */
  private setElements<T>(
    what: string,
    book: ElementBook<T>,
    owner: string,
    items: readonly T[],
    keyOf: (item: T) => string,
    renderDelta: (added: T[], removed: T[], keep: T[]) => string,
  ): Promise<void> {
    const before = book.set(owner, items);
    const oldKeys = new Set(before.map(keyOf));
    const newKeys = new Set(items.map(keyOf));
    const added = items.filter((i) => !oldKeys.has(keyOf(i)));
    const removed = before.filter((i) => !newKeys.has(keyOf(i)));
    if (!added.length && !removed.length) return this.queue;
    // Only the elements other owners share with the removed ones (O(those owners), not O(all)).
    const keep = book.sharing(removed);
    return this.enqueue(async () => {
      try {
        await this.firewall.applyDelta(renderDelta(added, removed, keep));
      } catch (e) {
        log.warn({ err: e, owner }, `${what} delta refused; re-rendering the whole table`);
        await this.applyFull();
      }
    });
  }

  /** Owners with ports (for pruning at daemon start). */
  owners(): string[] {
    return this.ports.ownerIds();
  }

  /** Re-applies the whole table from state. */
  reload(): Promise<void> {
    return this.enqueue(() => this.applyFull());
  }

  private async applyFull(): Promise<void> {
    this.kernelInStep = false;
    await this.firewall.apply(this.state());
    this.kernelInStep = true;
  }

  /** Runs `fn` after every earlier change; a failed change does not stop the later ones. */
  private enqueue(fn: () => Promise<void>): Promise<void> {
    const next = this.queue.then(fn, fn);
    this.queue = next.catch(() => undefined);
    return next;
  }
}
