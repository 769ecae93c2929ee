/**
 * The daemon's cluster membership: a SwarmController (swarm init/join/leave through the API, its
 * membership kept in the local state store under meta key `swarm`), and the ClusterAccess the
 * engine's drivers use: the swarm's store, or with --cluster-store an existing etcd cluster's.
 *
 * Beware: the swarm's etcd member is not stopped with the daemon (it serves the other managers and
 * outlives restarts); `swarm leave` and `redes sandbox down` stop it.
 */
import { hostname as osHostname } from 'node:os';
import { join } from 'node:path';
import { SwarmController, openExternalCluster, type ClusterAccess, type SwarmLocalState } from '../cluster/index.js';
import type { Store } from '../store/index.js';
import type { DaemonOptions } from './daemon-options.js';

export interface DaemonCluster {
  swarm: SwarmController;
  /** What drivers get: the cluster store, undefined while the engine is in no cluster. */
  access: ClusterAccess;
  hostname: string;
  close(): Promise<void>;
}

export async function openDaemonCluster(opts: DaemonOptions, store: Store, daemonId: string, engineVersion: string): Promise<DaemonCluster> {
  const hostname = opts.hostname ?? osHostname();
  const swarm = new SwarmController({
    dataDir: join(opts.dataRoot, 'swarm'),
    execRoot: opts.execRoot,
    hostname,
    engineVersion,
    load: () => {
      const raw = store.getMeta('swarm');
      return raw ? (JSON.parse(raw) as SwarmLocalState) : undefined;
    },
    save: (s) => store.setMeta('swarm', s ? JSON.stringify(s) : ''),
  });
  const cs = opts.clusterStore;
  if (cs) {
    const external = await openExternalCluster({ ...cs, nodeId: daemonId, hostname, engineVersion });
    return { swarm, access: external, hostname, close: async () => external.close() };
  }
  swarm.start();
  return { swarm, access: swarm, hostname, close: () => swarm.close() };
}
