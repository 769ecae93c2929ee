/** The stored form of a network (one JSON document per network in the store's `networks` collection). */
import type { NetworkOptions } from '../../drivers/index.js';

export interface IpamPoolRecord {
  subnet: string;
  gateway: string;
  ipRange?: string;
  auxAddresses: Record<string, string>;
}

export interface NetworkRecord {
  id: string;
  name: string;
  driver: string;
  /**
   * `local`, or for a global driver's network (overlay) what Docker shows: `swarm` in swarm mode,
   * `global` on an engine started with --cluster-store (Docker's classic multi-host networks).
   */
  scope: 'local' | 'swarm' | 'global';
  /** RFC 3339 with nanoseconds. */
  created: string;
  internal: boolean;
  attachable: boolean;
  enableIPv4: boolean;
  enableIPv6: boolean;
  ipam: {
    driver: string;
    options: Record<string, string> | null;
    v4?: IpamPoolRecord;
    v6?: IpamPoolRecord;
  };
  /** Driver options as `docker network inspect` shows them. */
  options: Record<string, string>;
  /** The same, parsed once by the driver at create (its answers to the engine's questions, and its own). */
  driverOptions: NetworkOptions;
  labels: Record<string, string>;
  /** bridge, host and none: made at first start, never removed or re-created. */
  predefined: boolean;
}

/** The request body of `POST /networks/create` (v1.50), as far as a local engine uses it. */
export interface NetworkCreateRequest {
  Name?: unknown;
  Driver?: unknown;
  Scope?: unknown;
  Internal?: unknown;
  Attachable?: unknown;
  Ingress?: unknown;
  ConfigOnly?: unknown;
  ConfigFrom?: unknown;
  EnableIPv4?: unknown;
  EnableIPv6?: unknown;
  IPAM?: unknown;
  Options?: unknown;
  Labels?: unknown;
  CheckDuplicate?: unknown;
}

export const PREDEFINED_NAMES = ['bridge', 'host', 'none', 'default'] as const;

/** True for a network that lives in the cluster store (scope `swarm` or `global`), not on this engine only. */
export const isClusterScope = (n: { scope: NetworkRecord['scope'] }): boolean => n.scope !== 'local';
