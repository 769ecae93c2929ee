/**
 * A recording fake of the engine's host seam (src/host/engine-host.ts) and of a bridge-like network
 * driver, for unit tests of the engine's controllers without root: no namespace, socket, rule or
 * process is made; every call is appended to one ordered `log`, so a test can check what happened
 * and in which order, and the fake keeps just enough state to answer questions (namespaces and their
 * interfaces, held ports, DNAT rules, container processes).
 *
 * Use: `const host = new FakeHost()`; `new FakeBridgeDriver(host)` puts its calls in the same log;
 * `host.failNext('netns.create')` makes the next call of that operation reject; `host.exit(id, 0)`
 * ends a container's program; `host.log` lists lines such as `netns.create redes-c-0123` or
 * `driver.join net1 eth0`.
 *
 * Beware: signals end a container at once (TERM → 143, KILL → 137) unless `host.ignoreTerm` is set;
 * mountRootfs makes a real empty folder under the container's directory (the controller writes its
 * bundle there), so give the controller a temporary data root.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { DriverNetwork, EndpointRef, EndpointSpec, LostEndpoint, NetworkDriver, NetworkOptions } from '../../src/drivers/index.js';
import { PortReservationError, type ContainerNetnsOps, type ContainerRuntimeOps, type EngineHost, type ExitStatus, type FirewallPort, type HostPortOps, type ProcessSpec, type ReservedPort } from '../../src/host/index.js';
import { nowRfc3339Nano } from '../../src/util/index.js';

export class FakeHost implements EngineHost {
  readonly log: string[] = [];
  /** Namespaces and the interfaces in each. */
  readonly namespaces = new Map<string, Set<string>>();
  /** Host ports held, by owner: "ip:port/proto". */
  readonly held = new Map<string, string[]>();
  /** DNAT rules, by owner. */
  readonly rules = new Map<string, readonly FirewallPort[]>();
  /** Container processes, by id. */
  readonly procs = new Map<string, { stateDir: string; state: 'created' | 'running' | 'exited'; exit?: ExitStatus }>();
  /** Host ports some other process holds ("ip:port/proto"): reserving them fails with EADDRINUSE. */
  readonly busyPorts = new Set<string>();
  /** When set, TERM does not end a container (as busybox httpd as PID 1). */
  ignoreTerm = false;
  /** What the fake driver's next `restore` reports lost (another host took an address meanwhile). */
  lostAtRestore: LostEndpoint[] = [];
  /** Where the fake driver reports endpoints lost while running (set by the engine through `reportLost`). */
  reportLost: ((lost: LostEndpoint[]) => Promise<void>) | undefined;
  private readonly failures = new Map<string, Error>();
  private readonly waiters = new Map<string, Array<(st: ExitStatus) => void>>();

  /** The next call of `op` (as the log names it, e.g. `netns.create`) rejects with `err`. */
  failNext(op: string, err: Error = new Error(`${op} failed (fake)`)): void {
    this.failures.set(op, err);
  }

  /** Log lines starting with one of `prefixes` (e.g. 'ports.', 'driver.'). */
  lines(...prefixes: string[]): string[] {
    return this.log.filter((l) => prefixes.some((p) => l.startsWith(p)));
  }

  /** Records a call, then rejects if a failure was armed for it. */
  step(op: string, detail = ''): void {
    this.log.push(detail ? `${op} ${detail}` : op);
    const err = this.failures.get(op);
    if (err) {
      this.failures.delete(op);
      throw err;
    }
  }

  /** The daemon dies: whoever waited for an exit never hears of it (processes keep running). */
  crash(): void {
    this.waiters.clear();
    this.log.push('-- crash --');
  }

  /** The container's program ends with `exitCode`. */
  exit(id: string, exitCode: number): void {
    const p = this.procs.get(id);
    if (!p || p.state === 'exited') return;
    const st: ExitStatus = { exitCode, finishedAt: nowRfc3339Nano(), finishedAtNs: BigInt(Date.now()) * 1_000_000n };
    p.state = 'exited';
    p.exit = st;
    for (const w of this.waiters.get(p.stateDir) ?? []) w(st);
    this.waiters.delete(p.stateDir);
  }

  readonly netns: ContainerNetnsOps = {
    create: async (name) => {
      this.step('netns.create', name);
      if (this.namespaces.has(name)) throw new Error(`netns ${name} exists`);
      this.namespaces.set(name, new Set());
    },
    delete: async (name) => {
      this.step('netns.delete', name);
      this.namespaces.delete(name);
    },
    list: async (prefix) => [...this.namespaces.keys()].filter((n) => n.startsWith(prefix)),
    interfaces: async (name) => [...(this.namespaces.get(name) ?? [])],
    deleteInterface: async (name, ifname) => {
      this.step('netns.deleteInterface', `${name} ${ifname}`);
      this.namespaces.get(name)?.delete(ifname);
    },
    configureInterface: async (name, ifname, extra) => {
      this.step('netns.configureInterface', `${name} ${ifname} ${extra.addresses.join(',')} ${extra.sysctls.map(([k, v]) => `${k}=${v}`).join(',')}`);
    },
  };

  readonly ports: HostPortOps = {
    range: async () => [40000, 40099],
    reserve: async (owner, ports: readonly ReservedPort[]) => {
      const keys = ports.map((p) => `${p.hostIp}:${p.hostPort}/${p.proto}`);
      this.step('ports.reserve', `${owner.slice(0, 12)} ${keys.join(',')}`);
      const busy = ports.find((p) => this.busyPorts.has(`${p.hostIp}:${p.hostPort}/${p.proto}`));
      if (busy) throw new PortReservationError(busy, 'EADDRINUSE', 'address already in use');
      this.held.set(owner, [...(this.held.get(owner) ?? []), ...keys]);
    },
    release: async (owner) => {
      this.step('ports.release', owner.slice(0, 12));
      this.held.delete(owner);
    },
    setRules: async (owner, rules) => {
      this.step('ports.setRules', `${owner.slice(0, 12)} ${rules.map((r) => `${r.hostIp}:${r.hostPort}->${r.containerIp}:${r.containerPort}`).join(',') || '-'}`);
      if (rules.length) this.rules.set(owner, rules);
      else this.rules.delete(owner);
    },
    loadRules: (owner, rules) => {
      this.log.push(`ports.loadRules ${owner.slice(0, 12)} ${rules.length}`);
      this.rules.set(owner, rules);
    },
    hairpin: async (ifnames) => this.step('ports.hairpin', ifnames.join(',')),
  };

  readonly runtime: ContainerRuntimeOps = {
    mountRootfs: async (_layers, dir) => {
      this.step('runtime.mountRootfs');
      const rootfs = join(dir, 'rootfs');
      await mkdir(rootfs, { recursive: true });
      return rootfs;
    },
    unmountRootfs: async () => this.step('runtime.unmountRootfs'),
    create: async (spec: ProcessSpec) => {
      this.step('runtime.create', spec.id.slice(0, 12));
      this.procs.set(spec.id, { stateDir: spec.stateDir, state: 'created' });
      return { pid: 4242 };
    },
    start: async (id) => {
      this.step('runtime.start', id.slice(0, 12));
      const p = this.procs.get(id);
      if (p) p.state = 'running';
    },
    delete: async (id) => {
      this.step('runtime.delete', id.slice(0, 12));
      const p = this.procs.get(id);
      if (p && p.state !== 'exited') this.exit(id, 137);
      this.procs.delete(id);
    },
    signal: async (id, signal) => {
      this.step('runtime.signal', `${id.slice(0, 12)} ${signal}`);
      const name = String(signal).replace(/^SIG/, '');
      if (name === 'KILL' || name === '9') this.exit(id, 137);
      else if ((name === 'TERM' || name === '15') && !this.ignoreTerm) this.exit(id, 143);
    },
    pause: async (id, paused) => this.step('runtime.pause', `${id.slice(0, 12)} ${paused}`),
    // As redes-shim: a recorded exit comes after `runc delete`, so runc no longer knows the container.
    exists: async (id) => this.procs.has(id) && this.procs.get(id)?.state !== 'exited',
    isRunning: (stateDir) => [...this.procs.values()].some((p) => p.stateDir === stateDir && p.state === 'running'),
    exitStatus: (stateDir) => [...this.procs.values()].find((p) => p.stateDir === stateDir)?.exit ?? null,
    waitExit: (stateDir) => {
      const p = [...this.procs.values()].find((x) => x.stateDir === stateDir);
      if (p?.exit) return Promise.resolve(p.exit);
      return new Promise((resolve) => this.waiters.set(stateDir, [...(this.waiters.get(stateDir) ?? []), resolve]));
    },
    oomKilled: () => false,
  };
}

/**
 * A bridge-like driver over the fake host: every network gives its containers an interface (the
 * engine's own IPAM), publishes ports on 0.0.0.0, and logs `driver.create NAME`, `driver.join NAME
 * IFNAME`, ... into the host's log. `failNext('driver.create')` etc. work as for the host.
 */
export class FakeBridgeDriver implements NetworkDriver<{ bridge: string }> {
  readonly scope = 'local';
  readonly allocator = 'local';
  private n = 0;

  constructor(
    private readonly host: FakeHost,
    readonly name = 'bridge',
  ) {}

  parseOptions(raw: Readonly<Record<string, string>>, ctx: { id: string }): { shown: Record<string, string>; options: NetworkOptions<{ bridge: string }> } {
    return { shown: { ...raw }, options: { attach: 'interface', icc: true, publishHostIp: '0.0.0.0', reserved: {}, own: { bridge: `br-${ctx.id.slice(0, 12)}` } } };
  }

  checkPools(): void {}

  checkCreate(): void {}

  async createNetwork(net: DriverNetwork): Promise<void> {
    this.host.step('driver.create', net.name);
  }

  async deleteNetwork(net: DriverNetwork): Promise<void> {
    this.host.step('driver.delete', net.name);
  }

  reportLost(sink: (lost: LostEndpoint[]) => Promise<void>): void {
    this.host.reportLost = sink;
  }

  async restore(nets: readonly DriverNetwork[]): Promise<LostEndpoint[]> {
    this.host.step('driver.restore', nets.map((n) => n.name).join(','));
    const lost = this.host.lostAtRestore.filter((l) => nets.some((n) => n.id === l.networkId));
    this.host.lostAtRestore = this.host.lostAtRestore.filter((l) => !lost.includes(l));
    return lost;
  }

  async joinEndpoint(net: DriverNetwork, netns: string, ep: EndpointSpec): Promise<{ hostIfname: string }> {
    this.host.step('driver.join', `${net.name} ${ep.ifname} ${ep.ipv4 ?? '-'}${ep.gatewayV4 ? ' gw' : ''}`);
    const links = this.host.namespaces.get(netns);
    if (!links) throw new Error(`no netns ${netns}`);
    links.add(ep.ifname);
    return { hostIfname: `veth${String(++this.n).padStart(7, '0')}` };
  }

  async leaveEndpoint(net: DriverNetwork, netns: string, ep: EndpointRef): Promise<void> {
    this.host.step('driver.leave', `${net.name} ${ep.ifname}`);
    this.host.namespaces.get(netns)?.delete(ep.ifname);
  }
}
