/**
 * Cluster: the store every engine of a cluster shares (interface, etcd and in-memory
 * implementations). Layers above import from here only.
 */
export { type ClusterStore, type StoreWatch, type StoredValue, type WatchEvent, clusterKeys } from './store.js';
export { MemoryClusterBackend, MemoryClusterStore, memoryClusterStore } from './memory-store.js';
export { type EtcdStoreOptions, type EtcdTls, EtcdClusterStore, etcdRoot, openEtcdClusterStore } from './etcd-store.js';
