/**
 * What the swarm keeps in the cluster store (under the cluster root, see store.ts) and locally, and
 * the Docker JSON shapes made from them (`GET /swarm`, `GET /nodes`, `docker info`'s Swarm block).
 *
 * Keys: `swarm/cluster` (ClusterRecord; its modRevision is the swarm's Version.Index),
 * `swarm/tokens` (the two token secrets), `nodes/<id>` (NodeRecord), `alive/<id>` (leased).
 *
 * Beware: the token secrets live in etcd, which every member with a certificate of the cluster CA can
 * read, workers included; the CA key never goes there (managers receive it in their join answer).
 */
import { X509Certificate } from 'node:crypto';
import { joinToken } from './token.js';

export type SwarmRole = 'manager' | 'worker';

/** This engine's membership, kept in its local state store. */
export interface SwarmLocalState {
  clusterId: string;
  nodeId: string;
  role: SwarmRole;
  advertiseAddr: string;
  /** host:port the join endpoint listens on (managers). */
  listenAddr: string;
  /** Client URLs of the etcd members known at the last join or start. */
  etcdEndpoints: string[];
}

export interface ClusterRecord {
  id: string;
  createdAt: string;
  updatedAt: string;
  spec: Record<string, unknown>;
  defaultAddrPool: string[];
  subnetSize: number;
  dataPathPort: number;
  caPem: string;
}

export interface TokenRecord {
  worker: string;
  manager: string;
}

export interface NodeRecord {
  id: string;
  hostname: string;
  role: SwarmRole;
  /** Advertise address (an IP). */
  addr: string;
  /** Address for data traffic (VXLAN), the advertise address unless --data-path-addr. */
  dataAddr: string;
  availability: 'active';
  engineVersion: string;
  createdAt: string;
  updatedAt: string;
  arch: string;
  os: string;
  nanoCpus: number;
  memoryBytes: number;
}

export const SWARM_KEYS = { cluster: 'swarm/cluster', tokens: 'swarm/tokens' } as const;

/** The Spec Docker reports for a default swarm, merged under what `init` was given. */
export function defaultSpec(given: Record<string, unknown> | undefined): Record<string, unknown> {
  const d: Record<string, unknown> = {
    Name: 'default',
    Labels: {},
    Orchestration: { TaskHistoryRetentionLimit: 5 },
    Raft: { SnapshotInterval: 10000, KeepOldSnapshots: 0, LogEntriesForSlowFollowers: 500, ElectionTick: 10, HeartbeatTick: 1 },
    Dispatcher: { HeartbeatPeriod: 5_000_000_000 },
    CAConfig: { NodeCertExpiry: 7_776_000_000_000_000 },
    TaskDefaults: {},
    EncryptionConfig: { AutoLockManagers: false },
  };
  for (const [k, v] of Object.entries(given ?? {})) {
    if (v === null || v === undefined) continue;
    const base = d[k];
    d[k] = typeof v === 'object' && !Array.isArray(v) && typeof base === 'object' && base !== null ? { ...base, ...stripEmpty(v as Record<string, unknown>) } : v;
  }
  if (!d.Name) d.Name = 'default';
  return d;
}

/** Drops zero values the CLI sends for flags it was not given. */
function stripEmpty(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== 0 && v !== null && v !== undefined && v !== ''));
}

function tlsInfo(caPem: string): Record<string, string> {
  const c = new X509Certificate(caPem);
  return {
    TrustRoot: caPem,
    CertIssuerSubject: Buffer.from(c.subject).toString('base64'),
    CertIssuerPublicKey: c.publicKey.export({ type: 'spki', format: 'der' }).toString('base64'),
  };
}

function clusterInfoView(c: ClusterRecord, version: number): Record<string, unknown> {
  return {
    ID: c.id,
    Version: { Index: version },
    CreatedAt: c.createdAt,
    UpdatedAt: c.updatedAt,
    Spec: c.spec,
    TLSInfo: tlsInfo(c.caPem),
    RootRotationInProgress: false,
    DefaultAddrPool: c.defaultAddrPool,
    SubnetSize: c.subnetSize,
    DataPathPort: c.dataPathPort,
  };
}

/** `GET /swarm`. */
export function swarmView(c: ClusterRecord, version: number, tokens: TokenRecord): Record<string, unknown> {
  return { ...clusterInfoView(c, version), JoinTokens: { Worker: joinToken(c.caPem, tokens.worker), Manager: joinToken(c.caPem, tokens.manager) } };
}

export interface ManagerState {
  leader: boolean;
  reachable: boolean;
}

/** One node of `GET /nodes`. */
export function nodeView(n: NodeRecord, version: number, alive: boolean, manager: ManagerState | undefined, caPem: string, port: number): Record<string, unknown> {
  return {
    ID: n.id,
    Version: { Index: version },
    CreatedAt: n.createdAt,
    UpdatedAt: n.updatedAt,
    Spec: { Labels: {}, Role: n.role, Availability: n.availability },
    Description: {
      Hostname: n.hostname,
      Platform: { Architecture: n.arch, OS: n.os },
      Resources: { NanoCPUs: n.nanoCpus, MemoryBytes: n.memoryBytes },
      Engine: { EngineVersion: n.engineVersion, Plugins: [{ Type: 'Network', Name: 'bridge' }, { Type: 'Network', Name: 'host' }, { Type: 'Network', Name: 'macvlan' }, { Type: 'Network', Name: 'null' }, { Type: 'Network', Name: 'overlay' }] },
      TLSInfo: tlsInfo(caPem),
    },
    Status: { State: alive ? 'ready' : 'down', Addr: n.addr },
    ...(n.role === 'manager' && manager
      ? { ManagerStatus: { Leader: manager.leader, Reachability: manager.reachable ? 'reachable' : 'unreachable', Addr: `${n.addr}:${port}` } }
      : {}),
  };
}

export interface SwarmInfoInput {
  state: SwarmLocalState | undefined;
  nodes?: NodeRecord[];
  cluster?: { record: ClusterRecord; version: number };
  error?: string;
  port: number;
}

/** `docker info`'s Swarm block. */
export function swarmInfoView(i: SwarmInfoInput): Record<string, unknown> {
  const s = i.state;
  if (!s) return { NodeID: '', NodeAddr: '', LocalNodeState: 'inactive', ControlAvailable: false, Error: '', RemoteManagers: null };
  const nodes = i.nodes ?? [];
  const managers = nodes.filter((n) => n.role === 'manager');
  const isManager = s.role === 'manager';
  return {
    NodeID: s.nodeId,
    NodeAddr: s.advertiseAddr,
    LocalNodeState: i.error ? 'error' : 'active',
    ControlAvailable: isManager,
    Error: i.error ?? '',
    RemoteManagers: managers.map((m) => ({ NodeID: m.id, Addr: `${m.addr}:${i.port}` })),
    ...(isManager ? { Nodes: nodes.length, Managers: managers.length } : {}),
    ...(isManager && i.cluster ? { Cluster: clusterInfoView(i.cluster.record, i.cluster.version) } : {}),
  };
}
