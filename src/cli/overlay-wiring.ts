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
import { OverlayDriver, type OverlayCluster, type OverlayDriverDeps, type RemoteChange, type RemoteEndpoint } from '../drivers/index.js';
import type { DnsRecords } from '../dns/index.js';
import type { NetworkController } from '../engine/index.js';
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
   * Where changes of remote endpoints go (the embedded DNS's records, made after the driver): what
   * the driver reported before is replayed at once, as one whole list per network.
   */
  setRemoteSink(fn: RemoteSink): void;
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

/** Takes a network's remote endpoints: a whole list (`full`) or what changed since the last report. */
export type RemoteSink = (networkId: string, change: RemoteChange) => void;

function withRole(c: OverlayCluster, role: 'manager' | 'worker' | undefined): OverlayCluster {
  return role ? { ...c, role } : c;
}

export function overlayWiring(
  access: ClusterAccess,
  opts: { prefix: string; dataRoot: string; role: () => 'manager' | 'worker' | undefined; guard?: OverlayDriverDeps['guard']; wireguardGo?: string },
): OverlayWiring {
  let current: OverlayCluster | undefined;
  /** networkId -> endpointId -> remote endpoint, as reported. */
  const remote = new Map<string, Map<string, RemoteEndpoint>>();
  let sink: RemoteSink | undefined;
  const driver = new OverlayDriver({
    cluster: () => current && withRole(current, opts.role()),
    instance: opts.prefix,
    dataDir: `${opts.dataRoot}/overlay`,
    ...(opts.guard ? { guard: opts.guard } : {}),
    ...(opts.wireguardGo ? { wireguardGo: opts.wireguardGo } : {}),
    onRemoteEndpoints: (networkId, change) => {
      let m = remote.get(networkId);
      if (!m || change.full) remote.set(networkId, (m = new Map()));
      for (const id of change.removed) m.delete(id);
      for (const e of change.set) m.set(e.endpointId, e);
      sink?.(networkId, change);
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
        // Through the engine: endpoints whose addresses another host took meanwhile are disconnected there.
        if (current) await networks.restoreDriver('overlay');
        await networks.followCluster();
      })
      .catch((e: unknown) => log.error({ err: e }, 'following the cluster for overlay networks failed'));
    return chain;
  };
  return {
    driver,
    setRemoteSink(fn) {
      sink = fn;
      for (const [networkId, eps] of remote) fn(networkId, { full: true, set: [...eps.values()], removed: [] });
    },
    remoteEndpoints: () => [...remote].flatMap(([networkId, eps]) => [...eps.values()].map((e) => ({ ...e, networkId }))),
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
 * name, its aliases and its short id, on that network only. A whole list replaces what the network
 * had (only the endpoints that differ are written); a delta writes its endpoints and drops the
 * removed ones, so a change costs O(changed endpoints), not O(endpoints of the network).
 */
export function remoteDnsSink(records: DnsRecords, networkName: (id: string) => string): RemoteSink {
  /** networkId -> record key -> what was written for it. */
  const held = new Map<string, Map<string, string>>();
  return (networkId, change) => {
    const before = held.get(networkId) ?? new Map<string, string>();
    const now = change.full ? new Map<string, string>() : before;
    const netName = networkName(networkId);
    if (!change.full) {
      for (const id of change.removed) {
        const key = `remote:${id}`;
        if (now.delete(key)) records.deleteContainer(key);
      }
    }
    for (const e of change.set) {
      const key = `remote:${e.endpointId}`;
      const names = [...new Set([e.name, ...e.aliases, e.containerId.slice(0, 12)].filter((n) => n))];
      const seen = `${netName}|${names.join(',')}|${e.ipv4 ?? ''}|${e.ipv6 ?? ''}`;
      const was = before.get(key);
      now.set(key, seen);
      if (was === seen) continue;
      records.setContainer(key, [{ containerId: key, networkId, networkName: netName, names, ...(e.ipv4 ? { ipv4: e.ipv4 } : {}), ...(e.ipv6 ? { ipv6: e.ipv6 } : {}) }]);
    }
    if (change.full) for (const key of before.keys()) if (!now.has(key)) records.deleteContainer(key);
    held.set(networkId, now);
  };
}
