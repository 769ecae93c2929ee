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
import type { ClusterAccess, ClusterStore, NodeRecord } from '../cluster/index.js';
import { clusterKeys } from '../cluster/index.js';
import { OverlayDriver, type DriverNetwork, type OverlayCluster, type OverlayOptions } from '../drivers/index.js';
import { toDriverNetwork, type NetworkController } from '../engine/index.js';
import { logger } from '../util/log.js';

const log = logger.child({ component: 'overlay-wiring' });

export interface OverlayWiring {
  driver: OverlayDriver;
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

export function overlayWiring(access: ClusterAccess, opts: { prefix: string; dataRoot: string; role: () => 'manager' | 'worker' | undefined }): OverlayWiring {
  let current: OverlayCluster | undefined;
  const driver = new OverlayDriver({ cluster: () => current && withRole(current, opts.role()), instance: opts.prefix, dataDir: `${opts.dataRoot}/overlay` });
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
