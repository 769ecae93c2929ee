/**
 * The cluster store: the small key-value interface through which every engine of a cluster shares
 * state (nodes, overlay networks, address allocations, endpoints, VNIs). etcd backs it in a real
 * cluster (etcd-store.ts); an in-memory fake (memory-store.ts) backs the unit tests of the layers
 * above.
 *
 * Use: the engine receives a `ClusterStore` from cli/redesd.ts (undefined when the engine is not in a
 * cluster) and builds keys with `clusterKeys` (the one place that knows the layout).
 *
 * Beware:
 * - Keys given to a store are relative to the cluster's root: a store of cluster `c` stores `nodes/x`
 *   under `/redes/c/nodes/x` in etcd. Nobody outside the implementations sees the root.
 * - Leased keys (`lease: true`) belong to this host's liveness lease: they vanish when the host stops
 *   renewing it (crash, partition longer than the TTL, the process paused). An implementation
 *   re-creates a lost lease and claims the leased keys it wrote again, each only if it is still
 *   absent or holds the value written (another host may have taken one meanwhile: an address), so a
 *   host that comes back re-appears on its own. A key whose republishing depends on others (an
 *   endpoint record on its address claims) is put with `republish: false`: its writer publishes it
 *   again when `onLease` says the lease was replaced.
 * - Revisions are the store's global, increasing revision numbers; a watch started from the revision of
 *   a `list` sees every change after that listing, in order, even across reconnects.
 */

/** One key with its value and the store revision that last changed it. */
export interface StoredValue {
  key: string;
  value: string;
  modRevision: number;
}

/** A change under a watched prefix. */
export type WatchEvent =
  | { type: 'put'; key: string; value: string; revision: number }
  | { type: 'delete'; key: string; revision: number };

/**
 * What happens to this host's liveness lease, in this order: `doubt` (no renewal answered for a whole
 * TTL: the lease may have expired in the store, its keys may be gone and other hosts may take what
 * they held), then either `kept` (the same lease was renewed after all: nothing was lost) or
 * `replaced` (the lease was lost; a new one is granted and the store's own leased keys are claimed
 * again; `taken`: those another host holds now). `replaced` may come without a `doubt` before it.
 */
export type LeaseEvent = { type: 'doubt' } | { type: 'kept' } | { type: 'replaced'; taken: string[] };

/** A running watch; `close` stops the events (none is delivered after it resolves). */
export interface StoreWatch {
  close(): Promise<void>;
}

export interface ClusterStore {
  /** This host's node id (stable across restarts of this engine). */
  readonly nodeId: string;
  /** The value of key, or undefined when absent. */
  get(key: string): Promise<StoredValue | undefined>;
  /** Every key under prefix, plus the store revision the listing was read at (to start a watch from). */
  list(prefix: string): Promise<{ items: StoredValue[]; revision: number }>;
  /**
   * Plain put; `lease: true` ties the key to this host's liveness lease (it vanishes when the host
   * dies); with `republish: false` the store does not claim it again after a lost lease (the writer
   * does, on `replaced`).
   */
  put(key: string, value: string, opts?: { lease?: boolean; republish?: boolean }): Promise<void>;
  /** Removes key; a missing key is not an error. */
  delete(key: string): Promise<void>;
  /** Removes key only while its value is `value` (atomic); false when absent or holding another value. */
  deleteIf(key: string, value: string): Promise<boolean>;
  /** Creates key only if absent (atomic); false when it already exists. Used for address allocation. */
  create(key: string, value: string, opts?: { lease?: boolean }): Promise<boolean>;
  /**
   * Creates key, or takes it over when it already holds `value` (with `lease: true` it is then tied to
   * this host's current lease); false when it holds another value. Atomic. A restarted engine takes
   * back its address claims with it.
   */
  claim(key: string, value: string, opts?: { lease?: boolean }): Promise<boolean>;
  /** Calls fn on each change of this host's lease (see LeaseEvent); returns the unsubscribe. */
  onLease(fn: (ev: LeaseEvent) => void): () => void;
  /** Events under prefix after `fromRevision` (exclusive), in order; resumes after reconnects. */
  watch(prefix: string, fromRevision: number, onEvent: (ev: WatchEvent) => void): Promise<StoreWatch>;
  /**
   * Stops watches and the lease keeper. By default the lease is revoked (its keys go at once: the
   * host leaves); `keepLease: true` lets it run out on its own instead (a daemon stopping for a
   * restart: a restart shorter than the TTL loses nothing, and the new process takes its keys back).
   */
  close(opts?: { keepLease?: boolean }): Promise<void>;
}

/**
 * How the engine reaches the cluster store: it appears when the engine inits or joins a swarm (or at
 * start, with --cluster-store or a swarm membership on disk) and goes when it leaves. Consumers (the
 * overlay driver) read `store` when they need it and subscribe to changes with `onStore`.
 */
export interface ClusterAccess {
  /** The store while this engine is in a cluster, else undefined. */
  readonly store: ClusterStore | undefined;
  /** Calls fn now and whenever the store appears or goes; returns the unsubscribe. */
  onStore(fn: (store: ClusterStore | undefined) => void): () => void;
}

/** A ClusterAccess whose store never changes (tests; --cluster-store). */
export function fixedClusterAccess(store: ClusterStore | undefined): ClusterAccess {
  return {
    store,
    onStore(fn) {
      fn(store);
      return () => undefined;
    },
  };
}

/**
 * The key layout, relative to the cluster root. Prefixes end with `/` so that a listing of
 * `networks/` never matches `networks-x`.
 */
export const clusterKeys = {
  nodes: 'nodes/',
  /** The node record (JSON): role, addresses, hostname, engine version. */
  node: (nodeId: string): string => `nodes/${nodeId}`,
  alive: 'alive/',
  /** Leased marker of a live node: present while the node renews its lease. */
  aliveNode: (nodeId: string): string => `alive/${nodeId}`,
  networks: 'networks/',
  /** Overlay network record: name, subnet(s), gateway, VNI, attachable, encrypted, options. */
  network: (networkId: string): string => `networks/${networkId}`,
  /** Every allocation of one network (`ipam/<networkId>/`). */
  ipamOf: (networkId: string): string => `ipam/${networkId}/`,
  /** One address allocation, created with `create` (never twice); value = endpoint id. */
  ipam: (networkId: string, ip: string): string => `ipam/${networkId}/${ip}`,
  /** Every endpoint of one network (`endpoints/<networkId>/`). */
  endpointsOf: (networkId: string): string => `endpoints/${networkId}/`,
  /** Leased endpoint record: node, container name, aliases, IP, MAC, VTEP, WireGuard key. */
  endpoint: (networkId: string, endpointId: string): string => `endpoints/${networkId}/${endpointId}`,
  /** A global network's name (URI-encoded: any name is one key segment) while it exists, created with `create` (leased); value = network id. */
  networkName: (name: string): string => `netnames/${encodeURIComponent(name)}`,
  /** A global network's subnet while it exists, created with `create` (leased); value = network id. */
  subnet: (cidr: string): string => `subnets/${cidr}`,
  vnis: 'vni/',
  /** One VNI allocation, created with `create`; value = network id. */
  vni: (vni: number): string => `vni/${vni}`,
} as const;
