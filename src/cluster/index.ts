/**
 * Cluster: the store every engine of a cluster shares (interface, etcd and in-memory
 * implementations). Layers above import from here only.
 */
export {
  type ClusterAccess,
  type ClusterStore,
  type LeaseEvent,
  type StoreWatch,
  type StoredValue,
  type WatchEvent,
  clusterKeys,
  fixedClusterAccess,
} from './store.js';
export { MemoryClusterBackend, MemoryClusterStore, memoryClusterStore } from './memory-store.js';
export { type EtcdMember, type EtcdStoreOptions, type EtcdTls, EtcdClusterStore, etcdRoot, openEtcdClusterStore } from './etcd-store.js';
export { SwarmController, type SwarmDeps, type SwarmInitRequest, type SwarmJoinRequest } from './swarm.js';
export { type NodeRecord, type SwarmLocalState } from './swarm-records.js';
export { ERR_NOT_IN_SWARM, ERR_NOT_MANAGER, ERR_WORKER } from './swarm-errors.js';
export { SWARM_PORT } from './join-service.js';
export { type ExternalClusterOptions, openExternalCluster } from './external.js';
