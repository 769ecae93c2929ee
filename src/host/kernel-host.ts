/**
 * The engine's host seam over the real kernel (engine-host.ts): container namespaces as `ip netns`
 * makes them (by system calls, kernel/syscalls.ts), host ports as sockets of this daemon plus DNAT
 * elements through the firewall manager, and container processes through runc and the shim
 * (runtime/) on overlayfs rootfs mounts (images/).
 *
 * Use: `new KernelHost({ runcRoot, firewall })` once in redesd; the firewall manager is the one the
 * bridge driver programs its networks with, so ports and networks share one table.
 *
 * Beware: it acts in the calling process's network namespace (the daemon's sandbox host). A container
 * namespace is deleted, not emptied: deleting the namespace frees its veth pairs asynchronously, the
 * cheap way (about 2 ms against 15-55 ms a veth, see the platform notes).
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { delEndpoint } from '../drivers/index.js';
import type { FirewallManager, FirewallPort } from '../firewall/index.js';
import { configureLink, interfaceNamesInNetns, linkUp, netnsAdd, netnsDelete, netnsList, netnsPath, PortReservations, setHairpin, sysctlRead, sysctlWriteIn, type ReservedPort } from '../kernel/index.js';
import { mountRootfs, unmountRootfs } from '../images/index.js';
import { createContainer, privateMountPlan, type MountTemplate, deleteContainer, exitStatus, isRunning, oomKilled, runcPause, signalContainer, startCreated, waitExit, type ExitStatus } from '../runtime/index.js';
import type { ContainerNetnsOps, ContainerRuntimeOps, EngineHost, HostPortOps, ProcessSpec } from './engine-host.js';

/** Endpoint interfaces in a container namespace: `eth<N>`, and tombstones of deletes cut short (drivers' delEndpoint). */
const ENDPOINT_IFNAME = /^(eth\d+|rdel[0-9a-f]{8})$/;

class KernelNetns implements ContainerNetnsOps {
  async create(name: string): Promise<void> {
    await netnsAdd(name);
    linkUp(name, 'lo');
  }

  async delete(name: string): Promise<void> {
    await netnsDelete(name);
  }

  async list(prefix: string): Promise<string[]> {
    return (await netnsList()).filter((n) => n.startsWith(prefix));
  }

  /** In-process (the netns-socket addon): crash recovery asks this of every running container. */
  async interfaces(name: string): Promise<string[]> {
    let names: string[];
    try {
      names = interfaceNamesInNetns(netnsPath(name));
    } catch {
      names = [];
    }
    return names.filter((n) => ENDPOINT_IFNAME.test(n));
  }

  async deleteInterface(name: string, ifname: string): Promise<void> {
    await delEndpoint(name, ifname);
  }

  async configureInterface(name: string, ifname: string, extra: { addresses: readonly string[]; sysctls: ReadonlyArray<readonly [string, string]> }): Promise<void> {
    // IPv6 ones skip duplicate address detection, as the endpoint's own address does.
    configureLink(name, ifname, { addresses: extra.addresses, nodad: true });
    for (const [key, value] of extra.sysctls) await sysctlWriteIn(name, key, value);
  }
}

class KernelPorts implements HostPortOps {
  private readonly sockets = new PortReservations();

  constructor(private readonly firewall: Pick<FirewallManager, 'setPorts' | 'loadPorts'>) {}

  /** /proc/sys/net/ipv4/ip_local_port_range of this namespace ("32768\t60999"), as [first, last]. */
  async range(): Promise<[number, number]> {
    const text = await sysctlRead('net/ipv4/ip_local_port_range');
    const [a, b] = text.split(/\s+/).map(Number);
    if (!a || !b || a > b) throw new Error(`ip_local_port_range: unexpected value ${JSON.stringify(text)}`);
    return [a, b];
  }

  reserve(owner: string, ports: readonly ReservedPort[]): Promise<void> {
    return this.sockets.reserve(owner, ports);
  }

  release(owner: string): Promise<void> {
    return this.sockets.release(owner);
  }

  setRules(owner: string, rules: readonly FirewallPort[]): Promise<void> {
    return this.firewall.setPorts(owner, rules);
  }

  loadRules(owner: string, rules: readonly FirewallPort[]): void {
    this.firewall.loadPorts(owner, rules);
  }

  /** Frames may leave by the bridge port they came in on, so a DNATed packet gets back to its sender. */
  async hairpin(hostIfnames: readonly string[]): Promise<void> {
    setHairpin(hostIfnames);
  }
}

class KernelRuntime implements ContainerRuntimeOps {
  /**
   * `privateMountDirs`: self-binds each `runc create` detaches in a namespace of its own (none: runc
   * runs in ours); `mountTemplate`: that namespace made once, which each create copies.
   */
  constructor(
    private readonly runcRoot: string,
    private readonly privateMountDirs: readonly string[] = [],
    private readonly mountTemplate?: MountTemplate,
  ) {}

  mountRootfs(layers: readonly string[], dir: string): Promise<string> {
    return mountRootfs(layers, dir);
  }

  unmountRootfs(dir: string): Promise<void> {
    return unmountRootfs(dir);
  }

  async create(spec: ProcessSpec): Promise<{ pid: number }> {
    const { hostPaths, ...rest } = spec;
    const template = this.mountTemplate?.alive() ? this.mountTemplate : undefined;
    const privateMounts = hostPaths ? await privateMountPlan(this.privateMountDirs, hostPaths, template?.root) : undefined;
    return createContainer({ ...rest, runcRoot: this.runcRoot, ...(privateMounts ? { privateMounts, ...(template ? { mountTemplateFd: template.fd } : {}) } : {}) });
  }

  start(id: string): Promise<void> {
    return startCreated({ id, runcRoot: this.runcRoot });
  }

  delete(id: string): Promise<void> {
    return deleteContainer({ id, runcRoot: this.runcRoot });
  }

  signal(id: string, signal: string | number): Promise<void> {
    return signalContainer({ id, runcRoot: this.runcRoot }, signal);
  }

  pause(id: string, paused: boolean): Promise<void> {
    return runcPause({ root: this.runcRoot }, id, paused);
  }

  exists(id: string): Promise<boolean> {
    return stat(join(this.runcRoot, id)).then(() => true, () => false);
  }

  isRunning(stateDir: string): boolean {
    return isRunning(stateDir);
  }

  exitStatus(stateDir: string): ExitStatus | null {
    return exitStatus(stateDir);
  }

  waitExit(stateDir: string, signal?: AbortSignal): Promise<ExitStatus> {
    return waitExit(stateDir, signal);
  }

  oomKilled(cgroupPath: string): boolean {
    return oomKilled(cgroupPath);
  }
}

export class KernelHost implements EngineHost {
  readonly netns: ContainerNetnsOps = new KernelNetns();
  readonly ports: HostPortOps;
  readonly runtime: ContainerRuntimeOps;

  constructor(opts: { runcRoot: string; firewall: Pick<FirewallManager, 'setPorts' | 'loadPorts'>; privateMountDirs?: readonly string[]; mountTemplate?: MountTemplate }) {
    this.ports = new KernelPorts(opts.firewall);
    this.runtime = new KernelRuntime(opts.runcRoot, opts.privateMountDirs, opts.mountTemplate);
  }
}
