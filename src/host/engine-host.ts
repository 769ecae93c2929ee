/**
 * The engine's host seam: every kernel and process operation the controllers make on the engine host,
 * in three small groups: container network namespaces, published host ports, and container processes
 * (rootfs mount and runc through the shim). Network drivers program their own objects (bridges,
 * veths, nftables chains) behind the driver interface; this is everything else the engine touches.
 *
 * Use: redesd builds one `KernelHost` and hands it to the engine's controllers; unit tests hand them a
 * recording fake (test/helpers/fake-host.ts) and run without root.
 *
 * Beware: everything acts in the daemon's own network namespace (the sandbox host) or, for `netns`,
 * in the container namespaces it names; never call it from the machine's root namespace.
 */
import type { FirewallPort } from '../firewall/index.js';
import type { ReservedPort } from '../kernel/index.js';
import type { ExitStatus, LogLimits } from '../runtime/index.js';

/** Network namespaces of containers (one per container with a namespace of its own). */
export interface ContainerNetnsOps {
  /** Container start, before its endpoints join: makes namespace `name` with `lo` up. Undone by `delete`. */
  create(name: string): Promise<void>;
  /** Container exit, failed start, orphan at daemon start: removes the namespace (its interfaces go with it); missing is fine. */
  delete(name: string): Promise<void>;
  /** Daemon start: the namespaces whose names start with `prefix`, to remove those no container owns. */
  list(prefix: string): Promise<string[]>;
  /** Crash recovery: the endpoint interfaces (`eth<N>`, delete tombstones) in namespace `name`; none if it is gone. */
  interfaces(name: string): Promise<string[]>;
  /** Removes an interface that no driver will (its network is gone, or recovery found no endpoint for it); missing is fine. */
  deleteInterface(name: string, ifname: string): Promise<void>;
  /**
   * After a driver joined an endpoint: extra addresses on its interface (CIDRs: link-local IPs) and
   * per-interface sysctls (`net/ipv4/conf/eth1/forwarding` → value).
   */
  configureInterface(name: string, ifname: string, extra: { addresses: readonly string[]; sysctls: ReadonlyArray<readonly [string, string]> }): Promise<void>;
}

/** Published ports on the host: sockets that hold each host ip:port, DNAT rules, hairpin. */
export interface HostPortOps {
  /** Once at daemon start: the host's ephemeral port range (where a host port is picked for `-p 80`). */
  range(): Promise<[number, number]>;
  /** Before a container's ports are programmed: holds every host ip:port for `owner`, all or nothing; rejects with PortReservationError. Undone by `release`. */
  reserve(owner: string, ports: readonly ReservedPort[]): Promise<void>;
  /** Closes the sockets `reserve` opened for `owner`; holding none is fine. */
  release(owner: string): Promise<void>;
  /** Makes `owner`'s DNAT rules exactly `rules` in the kernel's ruleset; `[]` removes them. */
  setRules(owner: string, rules: readonly FirewallPort[]): Promise<void>;
  /** Daemon start, before the first ruleset is written: rules a previous daemon programmed, taken back without a kernel write. */
  loadRules(owner: string, rules: readonly FirewallPort[]): void;
  /** After a container's ports are programmed: lets it reach itself through them (hairpin on its bridge ports). Safe to repeat. */
  hairpin(hostIfnames: readonly string[]): Promise<void>;
}

/** What the runtime needs to create a container's process. */
export interface ProcessSpec {
  id: string;
  /** Holds config.json and the rootfs it names. */
  bundleDir: string;
  /** The shim's state directory (log, exit file, attach socket), kept across daemon restarts. */
  stateDir: string;
  tty: boolean;
  openStdin: boolean;
  /** Rotated log files, or no log (driver none). */
  log: LogLimits;
  /** The container's cgroup, whose OOM kills the shim records at the exit. */
  cgroupPath: string;
  /** Host paths runc opens for this container (rootfs, joined netns file, bind sources): runtime/private-mounts.ts. */
  hostPaths?: readonly string[];
}

/** Container processes: rootfs mounts, and runc through the shim (the shim, not the daemon, holds the process). */
export interface ContainerRuntimeOps {
  /** Start, first step: mounts the image `layers` as the rootfs under `dir`; returns its path. Undone by `unmountRootfs`. */
  mountRootfs(layers: readonly string[], dir: string): Promise<string>;
  /** After the exit, a failed start, rm, recovery: unmounts the rootfs under `dir`; not mounted is fine. */
  unmountRootfs(dir: string): Promise<void>;
  /** Start, after config.json is written: the shim runs `runc create`; resolves with the init's pid. Undone by `delete`. */
  create(spec: ProcessSpec): Promise<{ pid: number }>;
  /** Start, last step: the created init execs the container's program. */
  start(id: string): Promise<void>;
  /** After the exit, a failed start, rm, recovery: removes runc's container; gone is fine. */
  delete(id: string): Promise<void>;
  /** Sends `signal` (a name without SIG, or a number) to the container's init. */
  signal(id: string, signal: string | number): Promise<void>;
  /** Freezes (`true`) or thaws the container's processes. */
  pause(id: string, paused: boolean): Promise<void>;
  /** Recovery: whether runc still holds state for `id` (a start cut short by a crash). */
  exists(id: string): Promise<boolean>;
  /** Whether the shim of `stateDir` still runs the container (daemon start: re-adopt it). */
  isRunning(stateDir: string): boolean;
  /** The recorded exit of `stateDir`'s container, or null if none was recorded. */
  exitStatus(stateDir: string): ExitStatus | null;
  /** Resolves when `stateDir`'s container exits (also for one an earlier daemon started). */
  waitExit(stateDir: string, signal?: AbortSignal): Promise<ExitStatus>;
  /** After a non-zero exit of a container with a memory limit: whether the kernel OOM-killed in its cgroup. */
  oomKilled(cgroupPath: string): boolean;
}

export interface EngineHost {
  readonly netns: ContainerNetnsOps;
  readonly ports: HostPortOps;
  readonly runtime: ContainerRuntimeOps;
}
