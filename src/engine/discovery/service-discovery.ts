/**
 * Service discovery in one piece for the daemon: the embedded DNS server and legacy links, as the
 * container hooks the controller calls, plus what the API needs for `docker rm --link`.
 *
 * Use (redesd):
 *   const sd = createServiceDiscovery({ networks, containers: () => late.containers, resolvConfPath: opts.resolvConf,
 *     save: (rec) => store.transaction(() => store.collection('containers').put(rec)) });
 *   new ContainerController({ ..., hooks: [...otherHooks, ...sd.hooks] });
 *   ... at shutdown: sd.close();
 *
 * Beware: `containers` is late-bound (the controller is made after its hooks); it is only called
 * from inside hook calls, when the controller exists.
 */
import { EmbeddedDns } from '../../dns/index.js';
import type { ContainerHooks } from '../containers/container-hooks.js';
import type { ContainerRecord } from '../containers/container-types.js';
import { createDnsHooks, type ContainerLookup } from './dns-hooks.js';
import { createLinkHooks, type LinkHooks } from '../links/link-hooks.js';
import type { LinkFirewall } from '../links/link-rules.js';
import type { NetworkRecord } from '../networks/network-record.js';

export interface ServiceDiscovery {
  readonly dns: EmbeddedDns;
  readonly links: LinkHooks;
  readonly hooks: readonly ContainerHooks[];
  close(): void;
}

export interface ServiceDiscoveryDeps {
  networks: { get(id: string): NetworkRecord | undefined };
  containers: () => ContainerLookup | undefined;
  resolvConfPath: string;
  /** Stores a container record changed outside the controller's own writes (links, DNS names). */
  save: (rec: ContainerRecord) => void;
  /** The firewall manager, for legacy links through an ICC-off bridge (optional: no link rules without it). */
  firewall?: LinkFirewall;
  /** Budget of a forwarded query (default 1000 ms). */
  upstreamTimeoutMs?: number;
}

export function createServiceDiscovery(deps: ServiceDiscoveryDeps): ServiceDiscovery {
  const dns = new EmbeddedDns(deps.upstreamTimeoutMs !== undefined ? { upstreamTimeoutMs: deps.upstreamTimeoutMs } : {});
  const ctl = (): ContainerLookup => {
    const c = deps.containers();
    if (!c) throw new Error('service discovery: the container controller is not ready');
    return c;
  };
  const containers: ContainerLookup = {
    resolve: (term: string): ContainerRecord => ctl().resolve(term),
    list: (opts: { all: boolean }): ContainerRecord[] => ctl().list(opts),
  };
  const links = createLinkHooks({ containers, save: deps.save, networks: deps.networks, ...(deps.firewall ? { firewall: deps.firewall } : {}) });
  return {
    dns,
    links,
    hooks: [links, createDnsHooks({ dns, networks: deps.networks, containers, resolvConfPath: deps.resolvConfPath, save: deps.save })],
    close: () => dns.close(),
  };
}
