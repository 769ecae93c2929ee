/**
 * The network side of the engine, after libnetwork's controller: it owns the network records, checks
 * every request completely (names, driver, options, IPAM) before any driver touches the kernel, and
 * keeps the store and the kernel in step.
 *
 * Order of a create: validate → write the record (one transaction) → driver.createNetwork. If the
 * driver fails, the record is deleted again. A crash between the two is repaired at the next start by
 * `init()`, which hands every stored network to its driver's `restore`.
 *
 * Lock order: a container's own lock, then `using(networkIds)` (shared holds on networks); `remove`
 * takes the exclusive side: it marks the network as being removed (new holds wait, then find it
 * gone), waits until no hold is left, and only then checks for endpoints. So an operation that puts
 * a container on a network (start, connect) either finishes first and blocks the removal, or starts
 * after it and fails; it never leaves an endpoint on a network that is gone.
 */
import type { Store, Collection } from '../../store/index.js';
import { DEFAULT_DRIVER, type DriverNetwork, type LostEndpoint, type NetworkDriver, type PredefinedNetwork } from '../../drivers/index.js';
import { conflict, forbidden, invalidParameter, notFound, RedesError, newId, nowRfc3339Nano, rfc3339ToSeconds, logger, Filters, clipEcho, failpoint, phaseClock, type PhaseClock } from '../../util/index.js';
import { checkNotHostNetwork, checkSubnetUsable } from '../../ipam/index.js';
import type { ClusterStore } from '../../cluster/index.js';
import { Mutex } from '../lock.js';
import { GLOBAL_DEFAULT_POOLS, GlobalNetworks } from './global-networks.js';
import { planIpam, type IpamDefaults } from './ipam-plan.js';
import { PREDEFINED_NAMES, isClusterScope, type NetworkCreateRequest, type NetworkRecord } from './network-record.js';

const log = logger.child({ component: 'networks' });

export interface NetworkControllerDeps {
  store: Store;
  drivers: ReadonlyMap<string, NetworkDriver>;
  /** The networks made at first start (bridge, host, none), with the daemon's options for them. */
  predefined: readonly PredefinedNetwork[];
  ipam: IpamDefaults;
  /** Subnets routed in the engine's host namespace, which automatic subnets must avoid. */
  hostRoutes: () => Promise<string[]>;
  /** The endpoints attached to a network (container name, endpoint id). */
  endpointsOf?: (networkId: string) => Array<{ name: string; id: string }>;
  /** The cluster store while the engine is in a cluster (global drivers' networks); absent: never. */
  cluster?: () => ClusterStore | undefined;
  /** The scope of global drivers' networks: `swarm` (default) or, with --cluster-store, `global`. */
  globalScope?: 'swarm' | 'global';
}

/** Subnet claims a create may lose to other managers before it gives up. */
const MAX_CLAIM_TRIES = 16;

const LIST_FILTERS = ['dangling', 'driver', 'id', 'label', 'name', 'scope', 'type'];
const PRUNE_FILTERS = ['label', 'label!', 'until'];

export class NetworkController {
  private readonly networks: Collection<NetworkRecord>;
  private readonly mutex = new Mutex();
  /** Operations under way that plug containers into a network, by network id. */
  private readonly holds = new Map<string, number>();
  /** Networks being removed: resolves when the removal is over (either way). */
  private readonly removing = new Map<string, Promise<void>>();
  private readonly drained = new Map<string, () => void>();
  private readonly global: GlobalNetworks;
  /** Endpoints drivers could not keep (at restore, or reported later), waiting for the container side (`onLostEndpoints`). */
  private lost: LostEndpoint[] = [];
  private lostSink: ((lost: readonly LostEndpoint[]) => Promise<void>) | undefined;

  constructor(private readonly deps: NetworkControllerDeps) {
    this.networks = deps.store.collection<NetworkRecord>('networks');
    this.global = new GlobalNetworks(deps.cluster ?? (() => undefined));
  }

  /** Daemon start: makes the predefined networks exist, then restores every network's kernel objects. */
  async init(): Promise<void> {
    this.parseStoredOptions();
    for (const d of this.deps.drivers.values()) d.reportLost?.((lost) => this.handOver(lost));
    await this.ensurePredefined();
    for (const name of this.deps.drivers.keys()) await this.restoreDriver(name);
    await this.followCluster();
  }

  /** Hands one driver its networks (`restore`): at init, and for a global driver when a cluster store appears. */
  async restoreDriver(name: string): Promise<void> {
    await this.handOver((await this.deps.drivers.get(name)?.restore(this.networks.list().filter((n) => n.driver === name).map(toDriverNetwork))) ?? []);
  }

  private async handOver(lost: LostEndpoint[]): Promise<void> {
    if (lost.length && this.lostSink) await this.lostSink(lost);
    else this.lost.push(...lost);
  }

  /** The container side disconnects the endpoints drivers lose (at restore or later): those found so far at once, later ones as they come. */
  async onLostEndpoints(fn: (lost: readonly LostEndpoint[]) => Promise<void>): Promise<void> {
    this.lostSink = fn;
    if (this.lost.length) await fn(this.lost.splice(0));
  }

  /**
   * Mirrors the cluster's global networks into this engine's list and follows them (at init, and
   * again whenever the engine joins a cluster). Outside a cluster it does nothing.
   */
  async followCluster(): Promise<void> {
    if (!this.global.inCluster) return this.global.stop();
    await this.global.start({
      put: (rec) => this.mutex.run(() => this.mirror(rec)),
      gone: (id) => this.mutex.run(() => this.dropMirrored(id)),
      held: () => this.networks.list().filter((n) => isClusterScope(n)).map((n) => n.id),
    });
  }

  /** Stops following the cluster (daemon stop). */
  async close(): Promise<void> {
    await this.global.stop();
  }

  list(filterText?: string | null): NetworkRecord[] {
    const f = Filters.parse(filterText).validate(LIST_FILTERS);
    const types = f.get('type');
    for (const t of types) {
      if (t !== 'custom' && t !== 'builtin') throw invalidParameter('filters.type', `invalid filter: 'type'='${clipEcho(t)}'`);
    }
    const dangling = danglingFilter(f);
    return this.networks.list().filter(
      (n) =>
        f.exactMatch('driver', n.driver) &&
        f.match('name', n.name) &&
        f.match('id', n.id) &&
        f.matchLabels('label', n.labels) &&
        f.exactMatch('scope', n.scope) &&
        (types.length === 0 || types.includes(n.predefined ? 'builtin' : 'custom')) &&
        (dangling === undefined || this.isDangling(n) === dangling),
    );
  }

  /** Finds a network by full id, exact name, or unique id prefix (Docker's order and errors). */
  resolve(term: string): NetworkRecord {
    const all = this.networks.list();
    const byId = all.find((n) => n.id === term);
    if (byId) return byId;
    const byName = all.filter((n) => n.name === term);
    if (byName.length === 1) return byName[0] as NetworkRecord;
    if (byName.length > 1) throw invalidParameter('network.ambiguous', `network ${term} is ambiguous (${byName.length} matches found based on name)`);
    const byPrefix = term ? all.filter((n) => n.id.startsWith(term)) : [];
    if (byPrefix.length === 1) return byPrefix[0] as NetworkRecord;
    if (byPrefix.length > 1) throw invalidParameter('network.ambiguous', `network ${term} is ambiguous (${byPrefix.length} matches found based on ID prefix)`);
    throw notFound('network.not_found', `network ${term} not found`);
  }

  get(id: string): NetworkRecord | undefined {
    return this.networks.get(id);
  }

  all(): NetworkRecord[] {
    return this.networks.list();
  }

  /** True while a network is being created or removed, or a container is being put on one. */
  busy(): boolean {
    return this.mutex.busy || this.holds.size > 0;
  }

  create(req: NetworkCreateRequest): Promise<{ id: string; warning: string }> {
    return this.mutex.run(() => this.createLocked(req));
  }

  /**
   * Runs `fn` while none of these networks can be removed (a shared hold each). A network that is
   * being removed is waited for first; `fn` must check that its networks still exist (`get`).
   */
  async using<T>(networkIds: readonly string[], fn: () => Promise<T>): Promise<T> {
    const ids = [...new Set(networkIds)];
    for (;;) {
      const pending = ids.map((id) => this.removing.get(id)).filter((p): p is Promise<void> => p !== undefined);
      if (pending.length === 0) break;
      await Promise.allSettled(pending);
    }
    for (const id of ids) this.holds.set(id, (this.holds.get(id) ?? 0) + 1);
    try {
      return await fn();
    } finally {
      for (const id of ids) {
        const left = (this.holds.get(id) ?? 1) - 1;
        if (left > 0) this.holds.set(id, left);
        else {
          this.holds.delete(id);
          this.drained.get(id)?.();
        }
      }
    }
  }

  remove(term: string): Promise<void> {
    return this.mutex.run(async () => {
      const n = this.resolve(term);
      if (n.predefined) throw forbidden('network.predefined', `${n.name} is a pre-defined network and cannot be removed`);
      let done!: () => void;
      this.removing.set(n.id, new Promise<void>((resolve) => (done = resolve)));
      try {
        if (this.holds.has(n.id)) await new Promise<void>((resolve) => this.drained.set(n.id, resolve));
        await this.removeUnheld(n);
      } finally {
        this.drained.delete(n.id);
        this.removing.delete(n.id);
        done();
      }
    });
  }

  private async removeUnheld(n: NetworkRecord): Promise<void> {
    const mark = phaseClock(log);
    const local = this.deps.endpointsOf?.(n.id) ?? [];
    // A swarm network is also in use while any other host has an endpoint on it.
    const remote = isClusterScope(n) ? (await this.global.endpoints(n.id)).filter((r) => !local.some((l) => l.id === r.id)) : [];
    const eps = [...local, ...remote];
    if (eps.length > 0) {
      const list = eps.map((e) => `name:${JSON.stringify(e.name)} id:${JSON.stringify(e.id.slice(0, 12))}`).join(', ');
      throw forbidden('network.in_use', `error while removing network: network ${n.name} has active endpoints (${list})`);
    }
    mark('check');
    await this.driverOf(n).deleteNetwork(toDriverNetwork(n));
    mark('driver');
    failpoint('network.rm.after-driver');
    this.deps.store.transaction(() => {
      this.networks.delete(n.id);
      this.deps.store.releaseNetwork(n.id);
    });
    mark('record');
    // The other engines drop their copy when the key goes; then its name and subnets are free again.
    if (isClusterScope(n)) {
      await this.global.unpublish(n.id);
      await this.global.release(n);
    }
    log.info({ id: n.id, name: n.name }, 'network removed');
    mark.done('network rm phases (cumulative ms)', n.id);
  }

  /** Removes unused custom networks matching the prune filters; returns the names removed. */
  async prune(filterText?: string | null): Promise<string[]> {
    const f = Filters.parse(filterText).validate(PRUNE_FILTERS);
    const until = f.until();
    const removed: string[] = [];
    for (const n of this.networks.list()) {
      if (n.predefined || !this.isDangling(n)) continue;
      if (!f.matchLabels('label', n.labels)) continue;
      if (f.anyLabel('label!', n.labels)) continue;
      if (until !== undefined && rfc3339ToSeconds(n.created) > until) continue;
      try {
        await this.remove(n.id);
        removed.push(n.name);
      } catch (e) {
        log.warn({ err: e, network: n.name }, 'prune could not remove network');
      }
    }
    return removed;
  }

  private isDangling(n: NetworkRecord): boolean {
    return !n.predefined && (this.deps.endpointsOf?.(n.id) ?? []).length === 0;
  }

  /** The driver of a network (or of a create request's `--driver`); Docker's text when there is none. */
  driverOf(n: { driver: string }): NetworkDriver {
    const d = this.deps.drivers.get(n.driver);
    if (!d) throw notFound('network.driver_not_found', `plugin "${n.driver}" not found`);
    return d;
  }

  private async createLocked(req: NetworkCreateRequest): Promise<{ id: string; warning: string }> {
    const mark = phaseClock(log);
    // Subnets another manager is claiming at this very moment: planned around on the next try (an
    // explicit subnet among them then fails with Docker's overlap text).
    const avoid: string[] = [];
    let rec: NetworkRecord;
    for (;;) {
      rec = await this.buildRecord(req, { predefined: false, avoid });
      this.driverOf(rec).checkCreate(toDriverNetwork(rec), this.networks.list().filter((n) => n.driver === rec.driver).map(toDriverNetwork));
      if (!avoid.length) await this.driverOf(rec).precheckCreate?.(toDriverNetwork(rec));
      if (!isClusterScope(rec)) break;
      const clash = await this.global.claim(rec);
      if (!clash) break;
      if (clash.kind === 'name') throw conflict('network.name_exists', `network with name ${rec.name} already exists`);
      if (avoid.length >= MAX_CLAIM_TRIES) throw conflict('network.subnet_contended', `could not claim a subnet for network ${rec.name}: ${avoid.length} tries lost races with other managers`);
      avoid.push(clash.subnet);
    }
    mark('plan');
    try {
      return await this.createClaimed(rec, mark);
    } catch (e) {
      if (isClusterScope(rec)) await this.global.release(rec).catch(() => undefined);
      throw e;
    }
  }

  private async createClaimed(rec: NetworkRecord, mark: PhaseClock): Promise<{ id: string; warning: string }> {
    const driver = this.driverOf(rec);
    const dn = toDriverNetwork(rec);
    this.deps.store.transaction(() => this.networks.put(rec));
    mark('record');
    failpoint('network.create.after-record');
    try {
      // A cluster network is published before this host sets up its kernel objects: the other hosts
      // mirror it (and set up theirs) meanwhile, not after. If the set-up here fails it is withdrawn.
      if (isClusterScope(rec)) await this.global.publish(rec);
      await driver.createNetwork(dn).catch(async (e: unknown) => {
        if (isClusterScope(rec)) await this.global.unpublish(rec.id).catch(() => undefined);
        throw e;
      });
      mark('driver');
      failpoint('network.create.after-driver');
    } catch (e) {
      this.deps.store.transaction(() => this.networks.delete(rec.id));
      if (e instanceof RedesError) throw e;
      throw new RedesError('internal', 'network.create_failed', `failed to create network ${rec.name}: ${(e as Error).message}`, { cause: e });
    }
    log.info({ id: rec.id, name: rec.name, driver: rec.driver }, 'network created');
    mark.done('network create phases (cumulative ms)', rec.id);
    return { id: rec.id, warning: '' };
  }

  /** Validates a create request completely (no kernel changes) and returns the record to store. */
  private async buildRecord(req: NetworkCreateRequest, how: { predefined: boolean; id?: string; avoid?: readonly string[] }): Promise<NetworkRecord> {
    const name = str(req.Name, 'Name');
    // Docker takes any name but a blank one (libnetwork's NewNetwork); names never reach a kernel
    // object, a path or a command line here (devices and rules are named after the network's id).
    if (!name.trim()) throw invalidParameter('network.name_empty', 'invalid name: name is empty');
    // dockerd checks predefined names first: `create bridge` is forbidden, not a duplicate.
    if (!how.predefined && (PREDEFINED_NAMES as readonly string[]).includes(name)) {
      throw forbidden('network.predefined', `operation is not permitted on predefined ${name} network `);
    }
    if (this.networks.list().some((n) => n.name === name)) {
      throw conflict('network.name_exists', `network with name ${name} already exists`);
    }
    const driverName = str(req.Driver, 'Driver') || DEFAULT_DRIVER;
    const driver = this.driverOf({ driver: driverName });
    // Docker shows a global driver's networks (overlay) with scope "swarm" (or "global" with --cluster-store).
    const scope = driver.scope === 'global' ? (this.deps.globalScope ?? 'swarm') : 'local';
    const askedScope = str(req.Scope, 'Scope');
    if (askedScope && askedScope !== scope) {
      throw invalidParameter('network.scope', `scope ${JSON.stringify(askedScope)} is not supported by driver ${driverName}: its networks are ${JSON.stringify(scope)}`);
    }
    // A global network's name and subnet are checked against the whole cluster, not this engine only.
    const clusterNets = scope !== 'local' ? await this.global.records() : [];
    if (clusterNets.some((n) => n.name === name)) throw conflict('network.name_exists', `network with name ${name} already exists`);
    const id = how.id ?? newId();
    const options = strMap(req.Options, 'Options');
    const labels = strMap(req.Labels, 'Labels');
    const enableIPv4 = req.EnableIPv4 === undefined || req.EnableIPv4 === null ? true : bool(req.EnableIPv4, 'EnableIPv4');
    const enableIPv6 = req.EnableIPv6 === undefined || req.EnableIPv6 === null ? false : bool(req.EnableIPv6, 'EnableIPv6');
    const internal = req.Internal === undefined ? false : bool(req.Internal, 'Internal');
    const attachable = req.Attachable === undefined ? false : bool(req.Attachable, 'Attachable');
    if (req.Ingress === true) throw forbidden('network.ingress', 'ingress networks need a swarm, which this engine does not run');
    if (req.ConfigOnly === true || (req.ConfigFrom !== undefined && req.ConfigFrom !== null)) {
      throw invalidParameter('network.config_only', 'config-only networks (--config-only, --config-from) are not supported by this engine');
    }
    const parsed = driver.parseOptions(options, { id, predefined: how.predefined });
    const usesAddresses = parsed.options.attach === 'interface';
    const others = [...this.networks.list(), ...clusterNets];
    const usedSubnets = [...others.flatMap((n) => [n.ipam.v4?.subnet, n.ipam.v6?.subnet].filter((s): s is string => !!s)), ...(how.avoid ?? [])];
    // Host routes steer an automatic subnet choice, and a network the host routes may not sit on its own networks.
    const hostRouted = parsed.options.hostRouted === true && !how.predefined;
    const hostRoutes = usesAddresses && (hostRouted || needsAutomaticSubnet(req.IPAM, enableIPv4, enableIPv6)) ? await this.deps.hostRoutes() : [];
    const ipam = await planIpam(req.IPAM, {
      enableIPv4: enableIPv4 && usesAddresses,
      enableIPv6: enableIPv6 && usesAddresses,
      usedSubnets,
      hostRoutes,
      // Swarm's default pool for overlay networks: 10.0.0.0/8 in /24s.
      defaults: scope !== 'local' ? { pools: GLOBAL_DEFAULT_POOLS } : this.deps.ipam,
      networkId: id,
      checkPools: (count) => driver.checkPools(count),
    });
    for (const pool of [ipam.v4, ipam.v6]) {
      if (!pool || how.predefined) continue;
      checkSubnetUsable(pool.subnet);
      if (hostRouted) checkNotHostNetwork(pool.subnet, hostRoutes, usedSubnets);
    }
    // Addresses the driver keeps for itself are held back from containers like aux addresses.
    for (const [key, addr] of Object.entries(parsed.options.reserved)) {
      const pool = addr.includes(':') ? ipam.v6 : ipam.v4;
      if (pool && !Object.values(pool.auxAddresses).includes(addr)) pool.auxAddresses[key] = addr;
    }
    return {
      id,
      name,
      driver: driverName,
      scope,
      created: nowRfc3339Nano(),
      internal,
      attachable,
      enableIPv4,
      enableIPv6,
      ipam,
      options: parsed.shown,
      driverOptions: parsed.options,
      labels,
      predefined: how.predefined,
    };
  }

  /** A cluster network this engine does not hold yet: kept locally and set up by its driver. */
  private async mirror(rec: NetworkRecord): Promise<void> {
    if (this.networks.get(rec.id)) return;
    const driver = this.deps.drivers.get(rec.driver);
    const clash = this.networks.list().find((n) => n.name === rec.name);
    if (!driver || driver.scope !== 'global' || clash) {
      log.warn({ network: rec.name, driver: rec.driver, clash: clash?.id }, 'a cluster network cannot be mirrored here');
      return;
    }
    this.networks.put(rec);
    // A host where set-up fails still lists the network; its driver sets up again at the first join.
    await driver.createNetwork(toDriverNetwork(rec)).catch((e: unknown) => log.error({ err: e, network: rec.name }, 'setting up a cluster network failed'));
    log.info({ id: rec.id, name: rec.name }, 'cluster network mirrored');
  }

  private async dropMirrored(id: string): Promise<void> {
    const n = this.networks.get(id);
    if (!n || !isClusterScope(n)) return;
    await this.driverOf(n).deleteNetwork(toDriverNetwork(n)).catch((e: unknown) => log.error({ err: e, network: n.name }, 'removing a cluster network failed'));
    this.deps.store.transaction(() => {
      this.networks.delete(id);
      this.deps.store.releaseNetwork(id);
    });
    log.info({ id, name: n.name }, 'cluster network removed');
  }

  /**
   * Makes the missing predefined networks, and gives the existing ones the daemon's options of this
   * start (say, the default bridge's ICC after a restart with another `--icc`).
   */
  private async ensurePredefined(): Promise<void> {
    for (const p of this.deps.predefined) {
      const stored = this.networks.list().find((n) => n.name === p.name && n.predefined);
      if (stored) {
        if (Object.entries(p.options).every(([k, v]) => stored.options[k] === v)) continue;
        const parsed = this.driverOf(stored).parseOptions({ ...stored.options, ...p.options }, { id: stored.id, predefined: true });
        this.networks.put({ ...stored, options: parsed.shown, driverOptions: parsed.options });
        continue;
      }
      const IPAM = p.ipv4 ? { Driver: 'default', Config: [{ Subnet: p.ipv4.subnet, Gateway: p.ipv4.gateway }] } : undefined;
      this.networks.put(await this.buildRecord({ Name: p.name, Driver: p.driver, IPAM, Options: p.options }, { predefined: true }));
    }
  }

  /** Records written before options were parsed at create get their typed options now (once). */
  private parseStoredOptions(): void {
    for (const n of this.networks.list()) {
      if (n.driverOptions) continue;
      const parsed = this.driverOf(n).parseOptions(n.options, { id: n.id, predefined: n.predefined });
      this.networks.put({ ...n, driverOptions: parsed.options });
    }
  }
}

export function toDriverNetwork(n: NetworkRecord): DriverNetwork {
  return {
    id: n.id,
    name: n.name,
    internal: n.internal,
    enableIPv4: n.enableIPv4,
    enableIPv6: n.enableIPv6,
    options: n.driverOptions,
    ...(n.ipam.v4 ? { ipv4: n.ipam.v4 } : {}),
    ...(n.ipam.v6 ? { ipv6: n.ipam.v6 } : {}),
  };
}

function needsAutomaticSubnet(ipam: unknown, v4: boolean, v6: boolean): boolean {
  const config = ipam && typeof ipam === 'object' ? (ipam as { Config?: unknown }).Config : undefined;
  const subnets = Array.isArray(config) ? config.map((c) => (c && typeof c === 'object' ? (c as { Subnet?: unknown }).Subnet : undefined)) : [];
  const has = (isV6: boolean): boolean => subnets.some((s) => typeof s === 'string' && s.includes(':') === isV6);
  return (v4 && !has(false)) || (v6 && !has(true));
}

function danglingFilter(f: Filters): boolean | undefined {
  const vs = f.get('dangling');
  if (vs.length === 0) return undefined;
  if (vs.length > 1) throw invalidParameter('filters.dangling', 'got more than one value for filter key "dangling"');
  const v = vs[0];
  if (v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0') return false;
  throw invalidParameter('filters.dangling', `invalid value for filter 'dangling', must be "true" (or "1"), or "false" (or "0")`);
}


function str(v: unknown, field: string): string {
  if (v === undefined || v === null) return '';
  if (typeof v !== 'string') throw invalidParameter('api.field_type', `invalid JSON: field ${field} must be a string`);
  return v;
}

function bool(v: unknown, field: string): boolean {
  if (typeof v !== 'boolean') throw invalidParameter('api.field_type', `invalid JSON: field ${field} must be a boolean`);
  return v;
}

function strMap(v: unknown, field: string): Record<string, string> {
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v)) throw invalidParameter('api.field_type', `invalid JSON: field ${field} must be an object`);
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(v as Record<string, unknown>)) {
    if (typeof val !== 'string') throw invalidParameter('api.field_type', `invalid JSON: field ${field}.${k} must be a string`);
    out[k] = val;
  }
  return out;
}
