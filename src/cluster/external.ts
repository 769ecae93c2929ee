/**
 * An existing etcd cluster used directly as the cluster store (`redesd --cluster-store etcd://...
 * --cluster-advertise ADDR`), without the swarm flow: the engine publishes its node record and
 * liveness like a swarm worker would, under the node id it keeps locally.
 *
 * Use: `const access = await openExternalCluster({ endpoints, tls, clusterId, nodeId, advertise,
 * hostname, engineVersion })`; `access.close()` at shutdown.
 *
 * Beware: TLS files are read once at start; without a CA file the client speaks plain http. `close`
 * (daemon stop) leaves the liveness lease to run out rather than revoking it, as a swarm member does.
 */
import { readFile } from 'node:fs/promises';
import { arch, cpus, totalmem } from 'node:os';
import { openEtcdClusterStore } from './etcd-store.js';
import type { NodeRecord } from './swarm-records.js';
import { clusterKeys, fixedClusterAccess, type ClusterAccess } from './store.js';

export interface ExternalClusterOptions {
  endpoints: string[];
  tls?: { ca: string; cert?: string; key?: string };
  clusterId: string;
  nodeId: string;
  advertise: string;
  hostname: string;
  engineVersion: string;
}

export async function openExternalCluster(o: ExternalClusterOptions): Promise<ClusterAccess & { close(): Promise<void> }> {
  const tls = o.tls && {
    ca: await readFile(o.tls.ca),
    ...(o.tls.cert ? { cert: await readFile(o.tls.cert) } : {}),
    ...(o.tls.key ? { key: await readFile(o.tls.key) } : {}),
  };
  const store = await openEtcdClusterStore({ endpoints: o.endpoints, tls, clusterId: o.clusterId, nodeId: o.nodeId });
  const now = new Date().toISOString();
  const prior = await store.get(clusterKeys.node(o.nodeId));
  const rec: NodeRecord = {
    id: o.nodeId,
    hostname: o.hostname,
    role: 'worker',
    addr: o.advertise,
    dataAddr: o.advertise,
    availability: 'active',
    engineVersion: o.engineVersion,
    createdAt: prior ? (JSON.parse(prior.value) as NodeRecord).createdAt : now,
    updatedAt: now,
    arch: arch() === 'x64' ? 'x86_64' : arch(),
    os: 'linux',
    nanoCpus: cpus().length * 1e9,
    memoryBytes: totalmem(),
  };
  await store.put(clusterKeys.node(o.nodeId), JSON.stringify(rec));
  await store.put(clusterKeys.aliveNode(o.nodeId), now, { lease: true });
  return { ...fixedClusterAccess(store), close: () => store.close({ keepLease: true }) };
}
