/**
 * The daemon's cluster membership: a SwarmController (swarm init/join/leave through the API, its
 * membership kept in the local state store under meta key `swarm`), and the ClusterAccess the
 * engine's drivers use: the swarm's store, or with --cluster-store an existing etcd cluster's.
 *
 * Beware:
 * - The swarm's etcd member is not stopped with the daemon (it serves the other managers and
 *   outlives restarts); `swarm leave` and `redes sandbox down` stop it.
 * - With --cluster-store, swarm init and join are refused with Docker's text (the two were exclusive
 *   in Docker too), and a swarm membership kept from before stops the daemon at start.
 */
import { hostname as osHostname } from 'node:os';
import { join } from 'node:path';
import { SwarmController, openExternalCluster, type ClusterAccess, type SwarmInitRequest, type SwarmJoinRequest, type SwarmLocalState } from '../cluster/index.js';
import type { Store } from '../store/index.js';
import { internal } from '../util/index.js';
import type { DaemonOptions } from './daemon-options.js';

export interface DaemonCluster {
  swarm: SwarmController;
  /** What drivers get: the cluster store, undefined while the engine is in no cluster. */
  access: ClusterAccess;
  hostname: string;
  /** `/info`'s ClusterStore and ClusterAdvertise (Docker's fields before 23), with --cluster-store. */
  infoFields: Record<string, string>;
  close(): Promise<void>;
}

const swarmIncompatible = (): Error => internal('swarm.cluster_store', '--cluster-store and --cluster-advertise daemon configurations are incompatible with swarm mode');

/** The swarm API of an engine that uses an existing cluster store: present (inactive), never joinable. */
class StoreEngineSwarm extends SwarmController {
  override init(_req: SwarmInitRequest): Promise<string> {
    return Promise.reject(swarmIncompatible());
  }

  override join(_req: SwarmJoinRequest): Promise<void> {
    return Promise.reject(swarmIncompatible());
  }
}

export async function openDaemonCluster(opts: DaemonOptions, store: Store, daemonId: string, engineVersion: string): Promise<DaemonCluster> {
  const hostname = opts.hostname ?? osHostname();
  const cs = opts.clusterStore;
  const swarm = new (cs ? StoreEngineSwarm : SwarmController)({
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
  if (cs) {
    if (swarm.local) throw swarmIncompatible();
    const external = await openExternalCluster({ ...cs, nodeId: daemonId, hostname, engineVersion });
    const infoFields = { ClusterStore: cs.shown.store, ClusterAdvertise: cs.shown.advertise };
    return { swarm, access: external, hostname, infoFields, close: async () => external.close() };
  }
  swarm.start();
  return { swarm, access: swarm, hostname, infoFields: {}, close: () => swarm.close() };
}
