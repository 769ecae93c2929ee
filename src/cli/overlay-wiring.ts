/**
 * The overlay driver's link to the daemon's cluster membership: the driver asks `cluster()`
 * synchronously, so the store and this host's data address (its node record's `dataAddr`, the
 * VXLAN/WireGuard endpoint) are cached here whenever the store appears or changes; then the overlay
 * networks are set up again (endpoints of running containers re-published) and the engine follows the
 * cluster's network records.
 *
 * Use: `const ov = overlayWiring(access, opts)`; `drivers.set('overlay', ov.driver)`; after
 * `networks.init()`, `ov.follow(networks)`.
 *
 * Beware: store changes are handled one at a time, in order (a swarm leave followed at once by a join).
 */
import { type ClusterAccess, type ClusterStore, type NodeRecord, clusterKeys } from '../cluster/index.js';
import { OverlayDriver, type DriverNetwork, type OverlayCluster, type OverlayDriverDeps, type OverlayOptions, type RemoteEndpoint } from '../drivers/index.js';
import type { DnsRecords } from '../dns/index.js';
import { toDriverNetwork, type NetworkController } from '../engine/index.js';
import { logger } from '../util/index.js';

const log = logger.child({ component: 'overlay-wiring' });

/** One entry of an overlay network's `Peers` (Engine API PeerInfo). */
export interface PeerInfo {
  Name: string;
  IP: string;
}

export interface OverlayWiring {
  driver: OverlayDriver;
  /**
   * Where remote endpoints go (the embedded DNS's records, made after the driver): what the driver
   * reported before is replayed at once.
   */
  setRemoteSink(fn: (networkId: string, endpoints: readonly RemoteEndpoint[]) => void): void;
  /** Every endpoint of other hosts on the overlay networks this host knows, as last reported. */
  remoteEndpoints(): Array<RemoteEndpoint & { networkId: string }>;
  /**
   * Inspect's `Peers` of an overlay network: every host with an endpoint on it, named as Docker's
   * network database names nodes (`<hostname>-<12 characters>`), with its data address. Empty
   * outside a cluster or when no host has an endpoint there.
   */
  peers(networkId: string): Promise<PeerInfo[]>;
  /** Starts following the cluster (after the network controller's init); returns when the first pass is done. */
  follow(networks: NetworkController): Promise<void>;
  close(): Promise<void>;
}

async function dataAddress(store: ClusterStore): Promise<string | undefined> {
  const rec = await store.get(clusterKeys.node(store.nodeId));
  if (!rec) return undefined;
  try {
    const n = JSON.parse(rec.value) as Partial<NodeRecord>;
    return n.dataAddr || n.addr || undefined;
  } catch {
    return undefined;
  }
}

function withRole(c: OverlayCluster, role: 'manager' | 'worker' | undefined): OverlayCluster {
  return role ? { ...c, role } : c;
}

export function overlayWiring(access: ClusterAccess, opts: { prefix: string; dataRoot: string; role: () => 'manager' | 'worker' | undefined; guard?: OverlayDriverDeps['guard'] }): OverlayWiring {
  let current: OverlayCluster | undefined;
  const remote = new Map<string, readonly RemoteEndpoint[]>();
  let sink: ((networkId: string, endpoints: readonly RemoteEndpoint[]) => void) | undefined;
  const driver = new OverlayDriver({
    cluster: () => current && withRole(current, opts.role()),
    instance: opts.prefix,
    dataDir: `${opts.dataRoot}/overlay`,
    ...(opts.guard ? { guard: opts.guard } : {}),
    onRemoteEndpoints: (networkId, endpoints) => {
      remote.set(networkId, endpoints);
      sink?.(networkId, endpoints);
    },
  });
  let chain: Promise<void> = Promise.resolve();
  let unsubscribe: (() => void) | undefined;
  const onStore = (networks: NetworkController, store: ClusterStore | undefined): Promise<void> => {
    chain = chain
      .then(async () => {
        await driver.close();
        current = undefined;
        if (store) {
          const addr = await dataAddress(store);
          if (!addr) log.error({ node: store.nodeId }, 'no node record with a data address: overlay networks stay down on this host');
          else current = { store, advertiseAddress: addr };
        }
        if (current) await driver.restore(networks.all().filter((n) => n.driver === 'overlay').map((n) => toDriverNetwork(n) as DriverNetwork<OverlayOptions>));
        await networks.followCluster();
      })
      .catch((e: unknown) => log.error({ err: e }, 'following the cluster for overlay networks failed'));
    return chain;
  };
  return {
    driver,
    setRemoteSink(fn) {
      sink = fn;
      for (const [networkId, endpoints] of remote) fn(networkId, endpoints);
    },
    remoteEndpoints: () => [...remote].flatMap(([networkId, eps]) => eps.map((e) => ({ ...e, networkId }))),
    async peers(networkId) {
      const c = current;
      const nodes = driver.peerNodes(networkId);
      if (!c || !nodes.length) return [];
      const known = new Map<string, Partial<NodeRecord>>();
      for (const it of (await c.store.list(clusterKeys.nodes)).items) {
        try {
          known.set(it.key.slice(clusterKeys.nodes.length), JSON.parse(it.value) as Partial<NodeRecord>);
        } catch {
          log.warn({ key: it.key }, 'skipping a malformed node record');
        }
      }
      const out: PeerInfo[] = [];
      for (const id of nodes) {
        const n = known.get(id);
        const ip = n?.dataAddr || n?.addr;
        // A host whose record is gone (it left) is no peer any more, whatever endpoint keys linger.
        if (!n || !ip) continue;
        out.push({ Name: `${n.hostname ?? 'node'}-${id.slice(0, 12)}`, IP: ip });
      }
      return out.sort((a, b) => a.IP.localeCompare(b.IP, 'en', { numeric: true }));
    },
    async follow(networks) {
      let first: Promise<void> = Promise.resolve();
      unsubscribe = access.onStore((s) => {
        first = onStore(networks, s);
      });
      await first;
    },
    async close() {
      unsubscribe?.();
      await chain;
      await driver.close();
    },
  };
}

/**
 * A sink for `setRemoteSink` that keeps the embedded DNS's records of other hosts' containers: each
 * remote endpoint is a record of its own (keyed `remote:<endpoint id>`), answering the container's
 * name, its aliases and its short id, on that network only. Each report is the network's whole list:
 * only the endpoints that changed since the last one are written (a network of thousands of
 * endpoints gets a report per change).
 */
export function remoteDnsSink(records: DnsRecords, networkName: (id: string) => string): (networkId: string, endpoints: readonly RemoteEndpoint[]) => void {
  /** networkId -> record key -> what was written for it. */
  const held = new Map<string, Map<string, string>>();
  return (networkId, endpoints) => {
    const before = held.get(networkId) ?? new Map<string, string>();
    const now = new Map<string, string>();
    const netName = networkName(networkId);
    for (const e of endpoints) {
      const key = `remote:${e.endpointId}`;
      const names = [...new Set([e.name, ...e.aliases, e.containerId.slice(0, 12)].filter((n) => n))];
      const seen = `${netName}|${names.join(',')}|${e.ipv4 ?? ''}|${e.ipv6 ?? ''}`;
      now.set(key, seen);
      if (before.get(key) === seen) continue;
      records.setContainer(key, [{ containerId: key, networkId, networkName: netName, names, ...(e.ipv4 ? { ipv4: e.ipv4 } : {}), ...(e.ipv6 ? { ipv6: e.ipv6 } : {}) }]);
    }
    for (const key of before.keys()) if (!now.has(key)) records.deleteContainer(key);
    held.set(networkId, now);
  };
}
