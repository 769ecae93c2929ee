/**
 * The network driver interface: one small set of calls per lifecycle step, each with one typed input.
 * The engine validates a request with `parseOptions` before anything touches the kernel, then calls
 * `createNetwork`; `deleteNetwork` undoes it. `restore` runs once at daemon start with every network
 * the store knows, recreating what is missing and removing what no network owns.
 */
import type { EndpointSpec } from './endpoint.js';

/** What a driver is told about a network (the engine's record, reduced to what drivers need). */
export interface DriverNetwork {
  id: string;
  name: string;
  internal: boolean;
  enableIPv4: boolean;
  enableIPv6: boolean;
  /** Raw driver options (`-o key=value`), already accepted by `parseOptions`. */
  options: Readonly<Record<string, string>>;
  ipv4?: { subnet: string; gateway: string };
  ipv6?: { subnet: string; gateway: string };
}

export interface NetworkDriver {
  readonly name: string;
  /**
   * Checks a create request's driver options and returns the options to store (defaults filled in
   * where Docker shows them). Throws an invalid-parameter RedesError with Docker's text. No I/O.
   */
  parseOptions(options: Readonly<Record<string, string>>, ctx: { id: string; isDefault: boolean }): Record<string, string>;
  /**
   * Addresses of the network's subnet the driver uses itself (say, a host shim), by name: the engine
   * reserves them in IPAM like `--aux-address`, so no container is given one. No I/O.
   */
  reservedAddresses(options: Readonly<Record<string, string>>): Record<string, string>;
  /** Checks the request against the networks that already exist (e.g. one `host` network only). */
  checkCreate(net: DriverNetwork, existing: readonly DriverNetwork[]): void;
  /** Creates the network's kernel objects. On failure it removes whatever it had made, then throws. */
  createNetwork(net: DriverNetwork): Promise<void>;
  /** Removes the network's kernel objects; missing objects are not an error. */
  deleteNetwork(net: DriverNetwork): Promise<void>;
  /** Daemon start: make the kernel match `nets` (all networks of this driver), removing orphans of ours. */
  restore(nets: readonly DriverNetwork[]): Promise<void>;
  /**
   * Gives the container whose namespace is `netns` an interface on the network (addresses already
   * allocated by the engine). Returns the host-side interface name. On failure nothing is left.
   */
  joinEndpoint(net: DriverNetwork, netns: string, ep: EndpointSpec): Promise<{ hostIfname: string }>;
  /** Undoes joinEndpoint; a missing interface or namespace is fine. */
  leaveEndpoint(net: DriverNetwork, netns: string, ifname: string): Promise<void>;
}
