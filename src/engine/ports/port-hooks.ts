/**
 * Port publishing as a container hook: host ports are allocated when a container starts (Docker's
 * errors on conflicts), programmed in the kernel as DNAT map elements through the shared firewall
 * manager (no proxy processes; host/'s HostPortOps), kept in the store collection `ports` so a daemon restarted after
 * kill -9 keeps the same host ports for running containers, and released when the container stops.
 *
 * Use: `const ports = await installPortPublishing({ store, networks, host: host.ports })`
 * before the network controller restores networks (so the first full ruleset already holds the
 * stored ports); pass `ports` in the container controller's `hooks` and `ports.portsOf` to the API.
 *
 * Each published host ip:port is also held by a socket of the daemon (kernel/port-reservation.ts), as
 * dockerd does: a port a host process holds cannot be published, and no host process can take a
 * published one. The sockets are bound again at daemon start for the restored publications.
 *
 * Beware: ports are published on one endpoint: the first endpoint of a network that publishes ports
 * (its driver gave it a default host IP: bridge) and is not internal (the container's gateway
 * network, as Docker does). Internal networks publish nothing.
 */
import type { Collection, Store } from '../../store/index.js';
import { PortReservationError, type FirewallPort, type HostPortOps } from '../../host/index.js';
import { isV6, parsePortRequests, PortAllocator, type PortProto } from '../../ipam/index.js';
import { failpoint, isRedesError, RedesError, logger } from '../../util/index.js';
import type { ContainerHooks } from '../containers/container-hooks.js';
import type { ContainerRecord, EndpointRecord } from '../containers/container-types.js';
import type { NetworkRecord } from '../networks/network-record.js';

const log = logger.child({ component: 'ports' });

/** Docker's NetworkSettings.Ports shape. */
export type PortMapView = Record<string, Array<{ HostIp: string; HostPort: string }> | null>;

interface StoredBinding {
  key: string;
  proto: PortProto;
  containerPort: number;
  hostIp: string;
  hostPort: number;
}

interface PortDoc {
  /** Container id. */
  id: string;
  /** Config.ExposedPorts keys (shown with null when not bound). */
  exposed: string[];
  bindings: StoredBinding[];
  rules: FirewallPort[];
}

export interface PortPublishingDeps {
  store: Store;
  networks: { get(id: string): NetworkRecord | undefined };
  /** Host-port sockets, DNAT rules and hairpin, in the daemon's (the host's) namespace. */
  host: HostPortOps;
}

export class PortPublishing implements ContainerHooks {
  readonly name = 'ports';
  private readonly docs: Collection<PortDoc>;
  private readonly host: HostPortOps;

  constructor(
    private readonly deps: PortPublishingDeps,
    private readonly allocator: PortAllocator,
  ) {
    this.docs = deps.store.collection<PortDoc>('ports');
    this.host = deps.host;
    // Re-adopt what a previous daemon allocated; `restore` drops the entries of stopped containers.
    for (const d of this.docs.list()) {
      try {
        allocator.reserve(d.id, d.bindings.map((b) => ({ proto: b.proto, hostIp: b.hostIp, hostPort: b.hostPort })));
        deps.host.loadRules(d.id, d.rules);
      } catch (e) {
        log.error({ err: e, container: d.id }, 'stored port bindings conflict; dropping them');
        this.docs.delete(d.id);
      }
    }
  }

  validateCreate(rec: ContainerRecord): void {
    parsePortRequests(rec.hostConfig.PortBindings, rec.config.ExposedPorts, rec.hostConfig.PublishAllPorts === true);
  }

  async beforeStart(rec: ContainerRecord): Promise<void> {
    const requests = parsePortRequests(rec.hostConfig.PortBindings, rec.config.ExposedPorts, rec.hostConfig.PublishAllPorts === true);
    if (!requests.length) return;
    const target = this.publishingEndpoint(rec);
    if (!target) return;
    const { ep, hostIp: defaultIp } = target;
    const resolved = requests.map((r) => ({ ...r, hostIp: r.hostIp || defaultIp }));
    // A binding on every IPv4 address also takes every IPv6 address when the container has one.
    const also = (ip: string): string[] => (ip === '0.0.0.0' && ep.ipv6Address ? ['::'] : []);
    let ports: number[];
    try {
      ports = this.allocator.allocate(rec.id, resolved, also);
    } catch (e) {
      if (!isRedesError(e)) throw e;
      const msg = `driver failed programming external connectivity on endpoint ${rec.name} (${ep.endpointId}): ${e.message}`;
      throw new RedesError(e.kind, e.code, msg, { cause: e });
    }
    const bindings: StoredBinding[] = resolved.flatMap((r, i) =>
      [r.hostIp, ...also(r.hostIp)].map((hostIp) => ({ key: r.key, proto: r.proto, containerPort: r.containerPort, hostIp, hostPort: ports[i] as number })),
    );
    const exposedObj = rec.config.ExposedPorts;
    const exposed = exposedObj && typeof exposedObj === 'object' ? Object.keys(exposedObj) : [];
    const doc: PortDoc = { id: rec.id, exposed, bindings, rules: rulesFor(bindings, ep) };
    try {
      await this.host.reserve(rec.id, bindings);
    } catch (e) {
      this.allocator.release(rec.id);
      const f = e instanceof PortReservationError ? e : undefined;
      const b = f && bindings.find((x) => x.hostIp === f.port.hostIp && x.hostPort === f.port.hostPort && x.proto === f.port.proto);
      if (!f || !b) throw e;
      // Docker's text: host ip:port, then the container's ip:port/proto of that binding.
      const cip = (isV6(b.hostIp) ? ep.ipv6Address : ep.ipv4Address) ?? '';
      const msg = `driver failed programming external connectivity on endpoint ${rec.name} (${ep.endpointId}): ` +
        `failed to bind host port for ${b.hostIp}:${b.hostPort}:${cip}:${b.containerPort}/${b.proto}: ${f.reason}`;
      throw new RedesError('internal', 'port.bind', msg, { cause: e });
    }
    try {
      await this.host.hairpin([ep.hostIfname]);
      await this.host.setRules(rec.id, doc.rules);
      failpoint('ports.publish.after-rules');
      this.docs.put(doc);
    } catch (e) {
      this.allocator.release(rec.id);
      await this.host.release(rec.id);
      await this.host.setRules(rec.id, []).catch(() => undefined);
      throw e;
    }
  }

  async beforeStop(rec: ContainerRecord): Promise<void> {
    await this.release(rec.id);
  }

  async removed(rec: ContainerRecord): Promise<void> {
    await this.release(rec.id);
  }

  /** A running container joined or left a network: the same host ports, aimed at the current endpoint. */
  async endpointsChanged(rec: ContainerRecord): Promise<void> {
    const doc = this.docs.get(rec.id);
    if (!doc) return;
    const target = this.publishingEndpoint(rec);
    doc.rules = target ? rulesFor(doc.bindings, target.ep) : [];
    if (target) await this.host.hairpin([target.ep.hostIfname]);
    await this.host.setRules(rec.id, doc.rules);
    this.docs.put(doc);
  }

  async restore(running: readonly ContainerRecord[]): Promise<void> {
    const alive = new Set(running.map((r) => r.id));
    for (const d of this.docs.list()) {
      if (!alive.has(d.id)) {
        await this.release(d.id);
        continue;
      }
      // The DNAT survived the restart in the kernel; the host-port sockets died with the old daemon.
      await this.host.release(d.id);
      for (const b of d.bindings) {
        await this.host.reserve(d.id, [b]).catch((e: unknown) => {
          log.warn({ err: e, container: d.id }, 'a restored published port is held by another process; it stays published');
        });
      }
    }
  }

  /** NetworkSettings.Ports of a running container with published ports; undefined otherwise. */
  portsOf(containerId: string): PortMapView | undefined {
    const doc = this.docs.get(containerId);
    if (!doc) return undefined;
    const out: PortMapView = {};
    for (const k of doc.exposed ?? []) out[k] = null;
    for (const b of doc.bindings) (out[b.key] ??= []).push({ HostIp: b.hostIp, HostPort: String(b.hostPort) });
    return out;
  }

  private async release(id: string): Promise<void> {
    if (!this.docs.get(id) && !this.allocator.bindingsOf(id).length) return;
    this.allocator.release(id);
    this.docs.delete(id);
    await this.host.release(id);
    await this.host.setRules(id, []);
  }

  /** The endpoint ports go to, and the host IP of a binding that names none (the network's default). */
  private publishingEndpoint(rec: ContainerRecord): { ep: EndpointRecord; hostIp: string } | undefined {
    for (const ep of Object.values(rec.endpoints)) {
      const net = this.deps.networks.get(ep.networkId);
      const hostIp = net?.driverOptions.publishHostIp;
      if (!net || hostIp === undefined || net.internal || !ep.hostIfname) continue;
      if (ep.ipv4Address || ep.ipv6Address) return { ep, hostIp };
    }
    return undefined;
  }
}

/** DNAT elements of the bindings toward an endpoint (a family the endpoint lacks is skipped). */
function rulesFor(bindings: readonly StoredBinding[], ep: EndpointRecord): FirewallPort[] {
  const out: FirewallPort[] = [];
  for (const b of bindings) {
    const v6 = isV6(b.hostIp);
    const containerIp = v6 ? ep.ipv6Address : ep.ipv4Address;
    if (!containerIp) continue;
    out.push({ family: v6 ? 6 : 4, proto: b.proto, hostIp: b.hostIp, hostPort: b.hostPort, containerIp, containerPort: b.containerPort });
  }
  return out;
}

/** One line in redesd: reads the host's ephemeral port range and re-adopts stored bindings. */
export async function installPortPublishing(deps: PortPublishingDeps): Promise<PortPublishing> {
  const range = await deps.host.range();
  return new PortPublishing(deps, new PortAllocator(range));
}
