/**
 * Containers, after libnetwork's sandbox and moby's daemon: create (validate, store), start (rootfs,
 * namespace, endpoints, etc files, OCI bundle, shim), exit handling (release everything, AutoRemove),
 * stop/kill/restart/remove, attach/logs/exec, connect/disconnect, and re-adoption after a restart.
 *
 * Beware: a container's init is the shim's child, not ours; its exit is learnt from the state
 * directory (runtime.waitExit), which also works for containers started by an earlier daemon.
 * Operations on one container are serialised by a per-container mutex; waiting for an exit never
 * holds that mutex (the exit handler needs it).
 */
import { EventEmitter } from 'node:events';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { constants as osConstants, hostname as osHostname } from 'node:os';
import { join } from 'node:path';
import type { Collection, Store } from '../../store/index.js';
import { attach as runtimeAttach, buildOciSpec, readHostLimits, readLogs, resize as runtimeResize, type ExitStatus, type Runc } from '../../runtime/index.js';
import type { EngineHost } from '../../host/index.js';
import { conflict, forbidden, invalidParameter, notFound, newId, logger, nowRfc3339Nano, ZERO_TIME, failpoint } from '../../util/index.js';
import { recoverInterrupted } from './recovery.js';
import { endedSession, LateAttach, liveSession } from './attach-session.js';
import { mergeImageConfig, parseCreateBody, parseEndpointRequest, strList } from './container-config.js';
import { identityOf, type ContainerNetworking } from './container-network.js';
import { ContainerQueries } from './container-queries.js';
import type { AttachSession, ContainerRecord, ContainerService, EndpointRecord, ExecRecord, LogLine, LogOptions } from './container-types.js';
import { writeEtcFiles } from './etc-files.js';
import { ContainerExecs } from './container-exec.js';
import { consoleSize, resolveUser } from './process-settings.js';
import { specSettings } from './host-config-spec.js';
import { checkBindSources, ociMounts, planMounts, releaseMounts, type MountPoint } from './container-mounts.js';
import type { Volumes } from '../../volumes/index.js';
import type { EventBus } from '../events.js';
import type { ContainerHooks, EtcContributions } from './container-hooks.js';
import { Mutex } from '../lock.js';
import { RestartBackoff, startsWithDaemon, timeMs } from './restart-policy.js';
import { CONTAINER_NAME, randomName } from './names.js';
import type { NetworkController } from '../networks/network-controller.js';
import type { NetworkRecord } from '../networks/network-record.js';

const log = logger.child({ component: 'containers' });

export interface ImageLookup {
  resolve(ref: string): { id: string; config: { Cmd?: string[]; Entrypoint?: string[]; Env?: string[]; WorkingDir?: string; User?: string; ExposedPorts?: Record<string, unknown>; Labels?: Record<string, string>; StopSignal?: string; Volumes?: Record<string, unknown> | null; Healthcheck?: object } };
  rootfsLayers(imageId: string): string[];
}

export interface ContainerControllerDeps {
  store: Store;
  networks: NetworkController;
  networking: ContainerNetworking;
  /** Kernel and process operations (namespaces, rootfs mounts, runc). */
  host: EngineHost;
  images: ImageLookup;
  prefix: string;
  dataRoot: string;
  execRoot: string;
  /** The resolv.conf containers derive theirs from (the engine host's). */
  resolvConfPath: string;
  /** Features plugged into the lifecycle (ports, DNS, links), called in this order. */
  hooks?: readonly ContainerHooks[];
  /** The daemon's event stream (docker events). */
  bus?: EventBus;
  /** Named and anonymous volumes (binds and tmpfs need nothing more). */
  volumes?: Volumes;
  /** `docker rm --link /parent/alias`: drops a legacy link (the links feature). */
  removeLink?: (name: string) => unknown;
}

const SIGNALS = /^(SIG)?[A-Z0-9+-]+$|^\d+$/;

export class ContainerController extends ContainerQueries implements ContainerService {
  private readonly locks = new Map<string, Mutex>();
  private readonly backoff = new RestartBackoff();
  private readonly restartTimers = new Map<string, NodeJS.Timeout>();
  /** Containers being stopped by the user: their exit is not a reason to restart. */
  private readonly noRestart = new Set<string>();
  /** Containers being removed (a second removal is refused, as dockerd does). */
  private readonly removing = new Set<string>();
  private readonly events = new EventEmitter();
  private readonly pending = new Map<string, Array<{ s: LateAttach; opts: { stdin: boolean; stdout: boolean; stderr: boolean } }>>();
  private readonly exec: ContainerExecs;
  private readonly runcRoot: string;
  /** The daemon's capability bounding set and open-files limit: fixed for its lifetime, read once. */
  private readonly hostLimits = readHostLimits();

  constructor(private readonly deps: ContainerControllerDeps) {
    super(deps.store.collection<ContainerRecord>('containers'));
    this.runcRoot = join(deps.execRoot, 'runc');
    this.exec = new ContainerExecs(this.runcRoot, (id) => this.mustGet(id), join(deps.execRoot, 'exec'), (rec, action, extra) => this.emitEvent(rec, action, extra));
    this.events.setMaxListeners(0);
  }

  /** runc as this daemon runs it (features beside the lifecycle: update, pause, top). */
  get runc(): Runc {
    return { root: this.runcRoot };
  }

  /** Runs `fn` under the container's lock with its current record, then saves the record. */
  modify<T>(term: string, fn: (rec: ContainerRecord) => Promise<T>): Promise<T> {
    const id = this.resolve(term).id;
    return this.lock(id).run(async () => {
      const rec = this.mustGet(id);
      const out = await fn(rec);
      this.deps.store.transaction(() => this.containers.put(rec));
      return out;
    });
  }

  /** Runs `fn` under the container's lock with its current record; nothing is saved (file operations). */
  exclusive<T>(term: string, fn: (rec: ContainerRecord) => Promise<T>): Promise<T> {
    const id = this.resolve(term).id;
    return this.lock(id).run(() => fn(this.mustGet(id)));
  }

  private get containers(): Collection<ContainerRecord> {
    return this.collection;
  }

  private lock(id: string): Mutex {
    let m = this.locks.get(id);
    if (!m) this.locks.set(id, (m = new Mutex()));
    return m;
  }

  private get hooks(): readonly ContainerHooks[] {
    return this.deps.hooks ?? [];
  }

  /** Runs a notification hook on every feature; failures are logged, not thrown. */
  private async notify(what: string, fn: (h: ContainerHooks) => Promise<void> | undefined): Promise<void> {
    for (const h of this.hooks) {
      try {
        await fn(h);
      } catch (e) {
        log.error({ err: e, hook: h.name, what }, 'container hook failed');
      }
    }
  }

  /** The container's cgroup in every hierarchy: /<prefix>/<id>. */
  cgroupPath(id: string): string {
    return `/${this.deps.prefix}/${id}`;
  }

  private get rt(): EngineHost['runtime'] {
    return this.deps.host.runtime;
  }

  private stateDir(rec: ContainerRecord): string {
    return join(rec.dir, 'state');
  }

  /** Daemon start: re-adopt running containers, settle those that exited meanwhile, drop orphans. */
  async init(): Promise<void> {
    // Process files of execs a previous daemon was starting when it died.
    await rm(join(this.deps.execRoot, 'exec'), { recursive: true, force: true });
    const keep = new Set<string>();
    for (const rec of this.containers.list()) {
      if (rec.state.status !== 'running') continue;
      if (this.rt.isRunning(this.stateDir(rec))) {
        keep.add(rec.netns);
        this.monitor(rec);
        log.info({ id: rec.id, name: rec.name }, 're-adopted running container');
      } else {
        await this.onExit(rec.id, this.rt.exitStatus(this.stateDir(rec)));
      }
    }
    const recovered = await recoverInterrupted({
      store: this.deps.store,
      records: () => this.containers.list(),
      save: (r) => this.deps.store.transaction(() => this.containers.put(r)),
      networking: this.deps.networking,
      runtime: this.rt,
      networkIds: () => this.deps.networks.all().map((n) => n.id),
      stateDir: (r) => this.stateDir(r),
      containersDir: join(this.deps.dataRoot, 'containers'),
    });
    for (const what of recovered) log.info({ recovery: what }, 'crash recovery');
    const running = this.containers.list().filter((c) => c.state.status === 'running');
    await this.notify('restore', (h) => h.restore?.(running));
    // Restart policies across a daemon restart: what dockerd's restore starts again.
    for (const rec of this.containers.list()) {
      if ((rec.state.status === 'exited' || rec.state.status === 'restarting') && !this.restartTimers.has(rec.id) && startsWithDaemon(rec)) {
        if (rec.state.status === 'exited') this.deps.store.transaction(() => this.containers.put({ ...rec, state: { ...rec.state, status: 'restarting' } }));
        void this.autoRestart(rec.id, 'daemon-start');
      }
    }
    for (const ns of await this.deps.host.netns.list(`${this.deps.prefix}-c-`)) {
      if (!keep.has(ns)) {
        log.info({ netns: ns }, 'removing namespace no container owns');
        await this.deps.host.netns.delete(ns).catch(() => undefined);
      }
    }
  }

  async create(name: string | undefined, body: unknown): Promise<{ id: string; warnings: string[] }> {
    const p = parseCreateBody(body);
    if (name !== undefined && name !== '') {
      if (!CONTAINER_NAME.test(name)) throw invalidParameter('container.name', `Invalid container name (${name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
      name = name.replace(/^\//, '');
      const other = this.findByName(name);
      if (other) {
        throw conflict('container.name_in_use', `Conflict. The container name "/${name}" is already in use by container "${other.id}". You have to remove (or rename) that container to be able to reuse that name.`);
      }
    } else name = randomName((n) => !!this.findByName(n));
    const image = this.deps.images.resolve(p.image);
    const id = newId();
    const endpoints: Record<string, EndpointRecord> = {};
    let networkMode = p.networkMode;
    let netns = `${this.deps.prefix}-c-${id.slice(0, 12)}`;
    if (networkMode.startsWith('container:')) {
      const other = this.resolve(networkMode.slice('container:'.length));
      networkMode = `container:${other.id}`;
      netns = '';
    } else {
      const names = [networkMode, ...Object.keys(p.endpointsConfig).filter((k) => k !== networkMode)];
      const nets = names.map((n) => this.deps.networks.resolve(n));
      if (nets.length > 1 && nets.some((n) => n.driverOptions.attach === 'none')) {
        throw invalidParameter('container.none_multi', 'container cannot be connected to multiple networks with one of the networks in private (none) mode');
      }
      if (nets.length > 1 && nets.some((n) => n.driverOptions.attach === 'host')) {
        throw invalidParameter('container.host_multi', 'container cannot be connected to multiple networks with one of the networks in host mode');
      }
      nets.forEach((net, i) => {
        const req = p.endpointsConfig[names[i] as string] ?? p.endpointsConfig[net.name] ?? { aliases: [], links: [] };
        this.deps.networking.checkEndpointRequest(net, req, 'create');
        endpoints[net.name] = this.deps.networking.blankEndpoint(net, req);
      });
      if (nets[0]?.driverOptions.attach === 'host') netns = '';
    }
    const { config, argv } = mergeImageConfig(p, image.config, { id, hostHostname: networkMode === 'host' ? osHostname() : undefined });
    const dir = join(this.deps.dataRoot, 'containers', id);
    const mounts = await this.planMounts(p, image.config.Volumes);
    const rec: ContainerRecord = {
      id, name, created: nowRfc3339Nano(), image: image.id, imageRef: p.image, path: argv[0] as string, args: argv.slice(1),
      config, hostConfig: p.hostConfig, networkMode, endpoints,
      state: { status: 'created', pid: 0, exitCode: 0, error: '', startedAt: ZERO_TIME, finishedAt: ZERO_TIME, oomKilled: false },
      restartCount: 0, netns,
      hostnamePath: join(dir, 'hostname'), hostsPath: join(dir, 'hosts'), resolvConfPath: join(dir, 'resolv.conf'),
      logPath: join(dir, 'state', 'log'), dir, mounts,
    };
    for (const h of this.hooks) h.validateCreate?.(rec);
    await mkdir(join(dir, 'state'), { recursive: true, mode: 0o700 });
    failpoint('container.create.after-dir');
    this.deps.store.transaction(() => this.containers.put(rec));
    log.info({ id, name }, 'container created');
    this.emitEvent(rec, 'create');
    return { id, warnings: [] };
  }

  start(term: string): Promise<boolean> {
    const rec0 = this.resolve(term);
    return this.lock(rec0.id).run(async () => {
      const rec = this.mustGet(rec0.id);
      if (rec.state.status === 'running') return false;
      this.cancelRestart(rec);
      rec.restartCount = 0;
      rec.state = { ...rec.state, manuallyStopped: false };
      await this.startLocked(rec);
      return true;
    });
  }

  /** Starts under the container's lock, holding its networks so that none is removed meanwhile. */
  private async startLocked(rec: ContainerRecord): Promise<void> {
    // The gateway bridge (overlay containers) is made before the holds: making it takes the network lock.
    const gw = rec.netns && !rec.networkMode.startsWith('container:') ? await this.deps.networking.gatewayNetworkFor(rec.endpoints) : undefined;
    const ids = [...Object.values(rec.endpoints).map((e) => e.networkId), ...(gw ? [gw.id] : [])];
    return this.deps.networks.using(ids, () => this.startHeld(rec));
  }

  private async startHeld(rec: ContainerRecord): Promise<void> {
    const cfg = rec.config;
    this.noRestart.delete(rec.id);
    // Phase timings (debug log): where a start spends its time, for the benchmarks' sake.
    const t0 = process.hrtime.bigint();
    const phases: Record<string, number> = {};
    const mark = (name: string): void => {
      phases[name] = Number(process.hrtime.bigint() - t0) / 1e6;
    };
    const tty = cfg.Tty === true;
    let netnsPath: string | 'host' = 'host';
    let pluggedIn = false;
    let hooksStarted = false;
    try {
      if (rec.networkMode.startsWith('container:')) {
        const other = this.mustGet(rec.networkMode.slice('container:'.length));
        if (other.state.status !== 'running') throw conflict('container.join_not_running', `cannot join network namespace of a non running container: ${other.id}`);
        rec.netns = other.netns;
        netnsPath = other.netns ? `/run/netns/${other.netns}` : 'host';
      } else if (rec.netns) {
        await this.deps.networking.plugIn(rec);
        pluggedIn = true;
        failpoint('container.start.after-plug');
        netnsPath = `/run/netns/${rec.netns}`;
      } else {
        for (const [name, ep] of Object.entries(rec.endpoints)) rec.endpoints[name] = { ...ep, endpointId: newId() };
      }
      mark('network');
      const gw = this.deps.networks.all().find((n) => n.predefined && n.name === 'bridge')?.ipam.v4?.gateway;
      const etc: EtcContributions = { hostsLines: [], env: [], hostGateway: gw ? [gw] : [] };
      hooksStarted = true;
      for (const h of this.hooks) await h.beforeStart?.(rec, etc);
      await writeEtcFiles(rec, etc, this.deps.resolvConfPath);
      mark('etc');
      const layers = this.deps.images.rootfsLayers(rec.image);
      const rootfs = await this.rt.mountRootfs(layers, rec.dir);
      const volumeMounts = this.deps.volumes ? await ociMounts(rec.mounts ?? [], rootfs, this.deps.volumes) : [];
      const { args, additionalGids, ...settings } = await specSettings(rec, rootfs, [rec.path, ...rec.args]);
      const user = await resolveUser(rootfs, String(cfg.User ?? ''));
      const spec = buildOciSpec({
        ...settings,
        mounts: [...(settings.mounts ?? []), ...volumeMounts],
        rootfs,
        args,
        env: [...(cfg.Env as string[]), ...etc.env, `HOSTNAME=${String(cfg.Hostname)}`, ...(tty ? ['TERM=xterm'] : [])],
        cwd: (cfg.WorkingDir as string) || '/',
        user: additionalGids.length ? { ...user, additionalGids } : user,
        tty,
        ...consoleSize(rec.hostConfig.ConsoleSize),
        hostname: rec.networkMode === 'host' ? osHostname() : String(cfg.Hostname),
        network: netnsPath === 'host' ? 'host' : { netnsPath },
        etcFiles: { hosts: rec.hostsPath, hostname: rec.hostnamePath, resolvConf: rec.resolvConfPath },
        cgroupsPath: this.cgroupPath(rec.id),
        capAdd: strList(rec.hostConfig.CapAdd, 'CapAdd'),
        capDrop: strList(rec.hostConfig.CapDrop, 'CapDrop'),
        privileged: rec.hostConfig.Privileged === true,
        host: this.hostLimits,
      });
      await writeFile(join(rec.dir, 'config.json'), JSON.stringify(spec));
      mark('bundle');
      const stateDir = this.stateDir(rec);
      const { pid } = await this.rt.create({ id: rec.id, bundleDir: rec.dir, stateDir, tty, openStdin: cfg.OpenStdin === true });
      for (const { s, opts } of this.pending.get(rec.id) ?? []) {
        s.connect(await runtimeAttach(stateDir, { ...opts, stream: true, logs: false }));
      }
      this.pending.delete(rec.id);
      mark('create');
      failpoint('container.start.after-create');
      await this.rt.start(rec.id);
      mark('start');
      failpoint('container.start.after-start');
      rec.state = { ...rec.state, status: 'running', pid, exitCode: 0, error: '', startedAt: nowRfc3339Nano(), finishedAt: rec.state.finishedAt };
      this.deps.store.transaction(() => this.containers.put(rec));
      this.monitor(rec);
      await this.notify('afterStart', (h) => h.afterStart?.(rec));
      mark('hooks');
      log.info({ id: rec.id, name: rec.name, pid }, 'container started');
      this.networkEvents(rec, 'connect');
      this.volumeEvents(rec, 'mount');
      this.emitEvent(rec, 'start');
      log.debug({ id: rec.id, ms: phases }, 'start phases (cumulative ms)');
    } catch (e) {
      for (const { s } of this.pending.get(rec.id) ?? []) s.fail();
      this.pending.delete(rec.id);
      if (hooksStarted) await this.notify('beforeStop', (h) => h.beforeStop?.(rec));
      await this.rt.delete(rec.id).catch(() => undefined);
      await this.rt.unmountRootfs(rec.dir).catch(() => undefined);
      if (this.deps.volumes) await releaseMounts(rec.mounts ?? [], this.deps.volumes);
      if (pluggedIn) await this.deps.networking.unplug(rec);
      for (const [name, ep] of Object.entries(rec.endpoints)) if (!ep.ifname) rec.endpoints[name] = { ...ep, endpointId: '' };
      rec.state = { ...rec.state, status: rec.state.startedAt === ZERO_TIME ? 'created' : 'exited', error: (e as Error).message, exitCode: 128 };
      this.deps.store.transaction(() => this.containers.put(rec));
      // As dockerd: a --rm container that cannot start is removed (the CLI waits for condition=removed).
      if (rec.hostConfig.AutoRemove === true) void this.remove(rec.id, { force: true, volumes: false, link: false }).catch(() => undefined);
      throw e;
    }
  }

  private monitor(rec: ContainerRecord): void {
    void this.rt.waitExit(this.stateDir(rec)).then(
      (st) => this.onExit(rec.id, st),
      (e: unknown) => log.error({ err: e, id: rec.id }, 'waiting for container exit failed'),
    );
  }

  /** The container's program is over: release runtime, mounts, endpoints and namespace. */
  private onExit(id: string, st: ExitStatus | null): Promise<void> {
    return this.lock(id).run(async () => {
      const rec = this.containers.get(id);
      if (!rec || rec.state.status !== 'running') return;
      const oomKilled = Number(rec.hostConfig.Memory ?? 0) > 0 && (st?.exitCode ?? 0) !== 0 && this.rt.oomKilled(this.cgroupPath(id));
      await this.rt.delete(id).catch((e: unknown) => log.warn({ err: e, id }, 'runc delete failed'));
      this.networkEvents(rec, 'disconnect');
      failpoint('container.exit.after-delete');
      await this.releaseNetwork(rec);
      await this.rt.unmountRootfs(rec.dir).catch((e: unknown) => log.warn({ err: e, id }, 'unmount failed'));
      rec.state = { ...rec.state, status: 'exited', paused: false, oomKilled, pid: 0, exitCode: st?.exitCode ?? 255, finishedAt: st?.finishedAt ?? nowRfc3339Nano() };
      this.deps.store.transaction(() => this.containers.put(rec));
      log.info({ id, name: rec.name, exitCode: rec.state.exitCode }, 'container exited');
      if (this.deps.volumes) await releaseMounts(rec.mounts ?? [], this.deps.volumes);
      if (oomKilled) this.emitEvent(rec, 'oom');
      this.volumeEvents(rec, 'unmount');
      this.emitEvent(rec, 'die', { exitCode: String(rec.state.exitCode) });
      this.events.emit(`exit:${id}`, rec.state.exitCode);
      this.scheduleRestart(rec);
      if (rec.hostConfig.AutoRemove === true) void this.remove(id, { force: true, volumes: true, link: false }).catch(() => undefined);
    });
  }

  private async releaseNetwork(rec: ContainerRecord): Promise<void> {
    await this.notify('beforeStop', (h) => h.beforeStop?.(rec));
    if (rec.networkMode.startsWith('container:') || !rec.netns) {
      for (const [n, ep] of Object.entries(rec.endpoints)) rec.endpoints[n] = { ...ep, endpointId: '' };
      return;
    }
    await this.deps.networking.unplug(rec);
  }

  private nextExit(id: string): Promise<number> {
    return new Promise((resolve) => this.events.once(`exit:${id}`, resolve));
  }

  async stop(term: string, opts: { signal?: string; timeout?: number }): Promise<boolean> {
    const rec = this.resolve(term);
    this.noRestart.add(rec.id);
    this.markStopped(rec.id);
    if (rec.state.status === 'restarting') {
      await this.lock(rec.id).run(async () => this.cancelRestart(this.mustGet(rec.id)));
      return true;
    }
    if (rec.state.status !== 'running') return false;
    const exited = this.nextExit(rec.id);
    const signal = opts.signal || (rec.config.StopSignal as string | undefined) || 'SIGTERM';
    const timeout = opts.timeout ?? (typeof rec.config.StopTimeout === 'number' ? rec.config.StopTimeout : 10);
    await this.signal(rec, signal).catch(() => undefined);
    const done = timeout < 0 ? await exited.then(() => true) : await Promise.race([exited.then(() => true), sleep(timeout * 1000).then(() => false)]);
    if (!done) {
      await this.signal(rec, 'SIGKILL').catch(() => undefined);
      await exited;
    }
    this.emitEvent(rec, 'stop');
    return true;
  }

  /** Docker's event for a container: its labels, image and name, plus `extra`. */
  emitEvent(rec: ContainerRecord, action: string, extra: Record<string, string> = {}): void {
    const labels = (rec.config.Labels as Record<string, string> | undefined) ?? {};
    this.deps.bus?.emit('container', action, rec.id, { ...labels, image: rec.imageRef, name: rec.name, ...extra });
  }

  private networkEvents(rec: ContainerRecord, action: 'connect' | 'disconnect'): void {
    // Docker announces the container's networks only, not its endpoint on docker_gwbridge.
    for (const ep of Object.values(rec.endpoints)) if (!ep.sandboxGateway) this.networkEvent(rec, ep, action);
  }

  private networkEvent(rec: ContainerRecord, ep: EndpointRecord, action: 'connect' | 'disconnect'): void {
    const type = this.deps.networks.get(ep.networkId)?.driver ?? '';
    this.deps.bus?.emit('network', action, ep.networkId, { container: rec.id, name: ep.networkName, type });
  }

  private volumeEvents(rec: ContainerRecord, action: 'mount' | 'unmount'): void {
    for (const m of rec.mounts ?? []) {
      if (m.type !== 'volume') continue;
      const attrs: Record<string, string> = { container: rec.id, driver: 'local' };
      if (action === 'mount') Object.assign(attrs, { destination: m.destination, propagation: m.propagation, 'read/write': String(m.rw) });
      this.deps.bus?.emit('volume', action, m.source, attrs);
    }
  }

  async restart(term: string, opts: { signal?: string; timeout?: number }): Promise<void> {
    await this.stop(term, opts);
    const rec = this.resolve(term);
    await this.lock(rec.id).run(async () => {
      const r = this.mustGet(rec.id);
      if (r.state.status !== 'running') {
        r.restartCount = 0;
        await this.startLocked(r);
      }
      this.emitEvent(r, 'restart');
    });
  }

  async kill(term: string, signal?: string): Promise<void> {
    const rec = this.resolve(term);
    if (rec.state.status !== 'running') throw conflict('container.not_running', `container ${rec.id} is not running`);
    this.markStopped(rec.id);
    const sig = signal || 'SIGKILL';
    const exited = this.nextExit(rec.id);
    await this.signal(rec, sig);
    // As dockerd: a kill with SIGKILL returns once the container is dead.
    if (/^(SIG)?KILL$|^9$/.test(sig)) await Promise.race([exited, sleep(10_000)]);
  }

  /** `docker stop`/`kill`: remembered (unless-stopped stays down, also across daemon restarts). */
  private markStopped(id: string): void {
    const cur = this.containers.get(id);
    if (cur && !cur.state.manuallyStopped) this.deps.store.transaction(() => this.containers.put({ ...cur, state: { ...cur.state, manuallyStopped: true } }));
  }

  /** Drops a pending policy restart; a `restarting` container becomes `exited`. Under the lock. */
  private cancelRestart(rec: ContainerRecord): void {
    const t = this.restartTimers.get(rec.id);
    if (t) clearTimeout(t);
    this.restartTimers.delete(rec.id);
    this.backoff.forget(rec.id);
    if (rec.state.status === 'restarting') {
      rec.state = { ...rec.state, status: 'exited' };
      this.deps.store.transaction(() => this.containers.put(rec));
    }
  }

  /** After an exit: the restart policy's decision, and the timer of Docker's back-off. Under the lock. */
  private scheduleRestart(rec: ContainerRecord): void {
    if (this.noRestart.has(rec.id)) return;
    const ran = Math.max(0, timeMs(rec.state.finishedAt) - timeMs(rec.state.startedAt));
    const delay = this.backoff.afterExit(rec, ran);
    if (delay === undefined) return;
    rec.state = { ...rec.state, status: 'restarting' };
    this.deps.store.transaction(() => this.containers.put(rec));
    this.restartTimers.set(rec.id, setTimeout(() => void this.autoRestart(rec.id, 'policy'), delay));
  }

  /** A restart by the policy (or at daemon start): counted in RestartCount, as Docker does. */
  private autoRestart(id: string, why: 'policy' | 'daemon-start'): Promise<void> {
    this.restartTimers.delete(id);
    return this.lock(id).run(async () => {
      const rec = this.containers.get(id);
      if (!rec || (rec.state.status !== 'restarting' && why === 'policy') || rec.state.status === 'running') return;
      if (why === 'policy') rec.restartCount++;
      await this.startLocked(rec).catch((e: unknown) => log.warn({ err: e, id }, 'restart by policy failed'));
    });
  }

  private async signal(rec: ContainerRecord, signal: string): Promise<void> {
    if (!SIGNALS.test(signal)) throw invalidParameter('container.signal', `invalid signal: ${signal}`);
    const sigName = `SIG${signal.replace(/^SIG/, '')}` as keyof typeof osConstants.signals;
    this.emitEvent(rec, 'kill', { signal: /^\d+$/.test(signal) ? signal : String(osConstants.signals[sigName] ?? signal) });
    await this.rt.signal(rec.id, /^\d+$/.test(signal) ? Number(signal) : signal.replace(/^SIG/, ''));
    // A frozen process takes no signal until thawed: as dockerd, a signalled paused container is unpaused.
    if (rec.state.paused) {
      await this.rt.pause(rec.id, false).catch(() => undefined);
      const cur = this.containers.get(rec.id);
      if (cur) this.deps.store.transaction(() => this.containers.put({ ...cur, state: { ...cur.state, paused: false } }));
    }
  }

  async wait(term: string, condition: string): Promise<{ StatusCode: number; Error: { Message: string } | null }> {
    const rec = this.resolve(term);
    const cond = condition || 'not-running';
    if (!['not-running', 'next-exit', 'removed'].includes(cond)) throw invalidParameter('container.wait_condition', `invalid condition: "${cond}"`);
    if (cond === 'not-running' && rec.state.status !== 'running') return { StatusCode: rec.state.exitCode, Error: null };
    if (cond === 'removed') {
      const code = await new Promise<number>((resolve) => this.events.once(`removed:${rec.id}`, resolve));
      return { StatusCode: code, Error: null };
    }
    const code = await this.nextExit(rec.id);
    return { StatusCode: code, Error: null };
  }

  async remove(term: string, opts: { force: boolean; volumes: boolean; link: boolean }): Promise<void> {
    if (opts.link) {
      // `/parent/alias` is a link's name, not a container's.
      if (!this.deps.removeLink) throw invalidParameter('container.link', 'legacy links are not supported by this engine');
      this.deps.removeLink(term.startsWith('/') ? term : `/${term}`);
      return;
    }
    const rec0 = this.resolve(term);
    // As dockerd: a second removal of the same container is refused at once, never queued behind the first.
    if (this.removing.has(rec0.id)) throw conflict('container.removal_in_progress', `removal of container ${term} is already in progress`);
    this.removing.add(rec0.id);
    try {
      await this.removeOnce(rec0, term, opts);
    } finally {
      this.removing.delete(rec0.id);
    }
  }

  private async removeOnce(rec0: ContainerRecord, term: string, opts: { force: boolean; volumes: boolean }): Promise<void> {
    if (rec0.state.status === 'running') {
      if (!opts.force) {
        throw conflict('container.running', `cannot remove container "${term}": container is running: stop the container before removing or force remove`);
      }
      const exited = this.nextExit(rec0.id);
      await this.signal(rec0, 'SIGKILL').catch(() => undefined);
      await Promise.race([exited, sleep(10_000)]);
    }
    await this.lock(rec0.id).run(async () => {
      const rec = this.containers.get(rec0.id);
      if (!rec) return;
      if (rec.state.status === 'running') await this.onExitUnlocked(rec);
      await this.rt.delete(rec.id).catch(() => undefined);
      await this.rt.unmountRootfs(rec.dir).catch(() => undefined);
      failpoint('container.rm.after-unmount');
      await rm(rec.dir, { recursive: true, force: true });
      this.deps.store.transaction(() => this.containers.delete(rec.id));
      if (opts.volumes) await this.removeAnonymousVolumes(rec);
      await this.notify('removed', (h) => h.removed?.(rec));
      log.info({ id: rec.id, name: rec.name }, 'container removed');
      this.emitEvent(rec, 'destroy');
      this.events.emit(`removed:${rec.id}`, rec.state.exitCode);
    });
    this.locks.delete(rec0.id);
  }

  /** `docker rm -v` and `--rm`: the container's anonymous volumes go with it (named ones stay). */
  private async removeAnonymousVolumes(rec: ContainerRecord): Promise<void> {
    const vols = this.deps.volumes;
    if (!vols) return;
    for (const m of rec.mounts ?? []) {
      if (m.type !== 'volume' || !vols.find(m.source)?.anonymous) continue;
      await vols.remove(m.source).catch((e: unknown) => log.warn({ err: e, volume: m.source }, 'removing an anonymous volume failed'));
    }
  }

  /** Mount points of a new container (Docker's texts for bad specs); volumes made as needed. */
  private async planMounts(p: ReturnType<typeof parseCreateBody>, imageVolumes: Record<string, unknown> | null | undefined): Promise<MountPoint[]> {
    const hc = p.hostConfig;
    const wants = [hc.Binds, hc.Mounts, hc.Tmpfs, hc.VolumesFrom, p.config.Volumes, imageVolumes].some((v) => v && Object.keys(v).length);
    if (!wants) return [];
    if (!this.deps.volumes) throw invalidParameter('container.volumes', 'mounts are not supported by this engine instance');
    await checkBindSources(hc);
    return planMounts(p.config, hc, { volumes: this.deps.volumes, mountsOf: (t) => this.resolve(t).mounts ?? [], imageVolumes: Object.keys(imageVolumes ?? {}) });
  }

  /** Containers whose mounts name a volume (any state), and those of them running. */
  volumeUsers(name: string, runningOnly = false): string[] {
    return this.containers.list().filter((c) => (!runningOnly || c.state.status === 'running') && (c.mounts ?? []).some((m) => m.type === 'volume' && m.source === name)).map((c) => c.id);
  }

  /** A running container whose exit we never saw (kill failed): clean it as if it had exited. */
  private async onExitUnlocked(rec: ContainerRecord): Promise<void> {
    await this.releaseNetwork(rec);
    rec.state = { ...rec.state, status: 'exited', pid: 0, exitCode: 137, finishedAt: nowRfc3339Nano() };
  }

  async rename(term: string, newName: string): Promise<void> {
    const rec = this.resolve(term);
    const name = newName.replace(/^\//, '');
    if (!CONTAINER_NAME.test(newName)) throw invalidParameter('container.name', `Invalid container name (${newName}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
    const other = this.findByName(name);
    if (other) throw conflict('container.name_in_use', `Error when allocating new name: Conflict. The container name "/${name}" is already in use by container "${other.id}". You have to remove (or rename) that container to be able to reuse that name.`);
    const oldName = rec.name;
    rec.name = name;
    for (const ep of Object.values(rec.endpoints)) {
      if (ep.dnsNames.length) ep.dnsNames = ep.dnsNames.map((n) => (n === oldName ? name : n));
    }
    this.deps.store.transaction(() => this.containers.put(rec));
    await this.notify('renamed', (h) => h.renamed?.(rec, oldName));
    this.emitEvent(rec, 'rename', { oldName: `/${oldName}` });
  }

  async attach(term: string, opts: { stdin: boolean; stdout: boolean; stderr: boolean; logs: boolean; stream: boolean }): Promise<AttachSession> {
    const rec = this.resolve(term);
    const tty = rec.config.Tty === true;
    if (rec.state.status === 'created' && opts.stream) {
      const s = new LateAttach(tty, opts.stdin);
      const list = this.pending.get(rec.id) ?? [];
      list.push({ s, opts: { stdin: opts.stdin, stdout: opts.stdout, stderr: opts.stderr } });
      this.pending.set(rec.id, list);
      return s;
    }
    if (rec.state.status !== 'running' && !opts.logs) return endedSession(tty);
    return liveSession(tty, await runtimeAttach(this.stateDir(rec), opts));
  }

  async *logs(term: string, opts: LogOptions): AsyncIterable<LogLine> {
    const rec = this.resolve(term);
    for await (const e of readLogs(this.stateDir(rec), {
      follow: opts.follow && rec.state.status === 'running', stdout: opts.stdout, stderr: opts.stderr,
      ...(opts.tail !== undefined ? { tail: opts.tail } : {}), ...(opts.sinceNs !== undefined ? { sinceNs: opts.sinceNs } : {}),
      ...(opts.untilNs !== undefined ? { untilNs: opts.untilNs } : {}), ...(opts.signal ? { signal: opts.signal } : {}),
    })) {
      yield { stream: e.stream, data: e.data, time: e.time };
    }
  }

  async resize(term: string, height: number, width: number): Promise<void> {
    const rec = this.resolve(term);
    if (rec.state.status !== 'running') throw conflict('container.not_running', `Container ${rec.id} is not running`);
    await runtimeResize(this.stateDir(rec), height, width);
  }

  execCreate(term: string, body: unknown): Promise<string> {
    return this.exec.create(this.resolve(term), body);
  }

  execStart(execId: string, opts: { detach: boolean; tty: boolean; consoleSize?: [number, number] }): Promise<AttachSession | null> {
    return this.exec.start(execId, opts);
  }

  execInspect(execId: string): ExecRecord {
    return this.exec.inspect(execId);
  }

  async execResize(execId: string, height: number, width: number): Promise<void> {
    this.exec.resize(execId, height, width);
  }

  connect(networkTerm: string, containerTerm: string, endpointConfig: unknown): Promise<void> {
    return this.changeEndpoints(networkTerm, containerTerm, async (rec, net) => {
      if (rec.networkMode.startsWith('container:')) {
        throw forbidden('container.shared_netns', 'container sharing network namespace with another container or host cannot be connected to any other network');
      }
      if (net.driverOptions.attach === 'none' || Object.values(rec.endpoints).some((e) => this.deps.networks.get(e.networkId)?.driverOptions.attach === 'none')) {
        throw forbidden('container.none_multi', 'container cannot be connected to multiple networks with one of the networks in private (none) mode');
      }
      if (rec.endpoints[net.name]) throw forbidden('container.already_connected', `endpoint with name ${rec.name} already exists in network ${net.name}`);
      const req = parseEndpointRequest(endpointConfig, net.name);
      this.deps.networking.checkEndpointRequest(net, req, 'connect');
      let ep = this.deps.networking.blankEndpoint(net, req);
      if (rec.state.status === 'running') {
        // A network with a way out of its own replaces the gateway bridge's endpoint (Docker's rule).
        await this.deps.networking.syncGateway(rec, { add: false, extra: ep });
        const hasRoute = this.deps.networking.hasRoute(rec);
        ep = await this.deps.networking.join(ep, rec.netns, this.deps.networking.nextIfname(rec), !hasRoute, identityOf(rec));
        failpoint('connect.after-join');
      }
      rec.endpoints[net.name] = ep;
      if (rec.state.status === 'running') {
        this.networkEvent(rec, ep, 'connect');
        await this.deps.networking.syncGateway(rec, { add: true });
      }
    });
  }

  async disconnect(networkTerm: string, containerTerm: string, force: boolean): Promise<void> {
    // As dockerd, `-f` also drops an endpoint whose network no longer exists.
    if (force && !this.deps.networks.all().some((n) => n.id === networkTerm || n.name === networkTerm || n.id.startsWith(networkTerm))) {
      return this.dropOrphanEndpoint(networkTerm, containerTerm);
    }
    return this.changeEndpoints(networkTerm, containerTerm, async (rec, net) => {
      const ep = rec.endpoints[net.name];
      if (!ep) throw forbidden('container.not_connected', `container ${rec.id} is not connected to network ${net.name}`);
      if (rec.state.status === 'running') await this.deps.networking.leave(ep, rec.netns);
      failpoint('disconnect.after-leave');
      delete rec.endpoints[net.name];
      if (rec.state.status === 'running') {
        this.networkEvent(rec, ep, 'disconnect');
        await this.deps.networking.syncGateway(rec, { add: true });
      }
    });
  }

  private async dropOrphanEndpoint(networkTerm: string, containerTerm: string): Promise<void> {
    const rec0 = this.resolve(containerTerm);
    await this.lock(rec0.id).run(async () => {
      const rec = this.mustGet(rec0.id);
      const found = Object.entries(rec.endpoints).find(([name, ep]) => name === networkTerm || (networkTerm !== '' && ep.networkId.startsWith(networkTerm)));
      if (!found) throw notFound('network.not_found', `network ${networkTerm} not found`);
      const [name, ep] = found;
      if (rec.state.status === 'running') await this.deps.networking.leave(ep, rec.netns);
      delete rec.endpoints[name];
      this.deps.store.transaction(() => this.containers.put(rec));
      if (rec.state.status === 'running') await this.notify('endpointsChanged', (h) => h.endpointsChanged?.(rec));
      log.info({ id: rec.id, network: name }, 'endpoint on a missing network dropped');
    });
  }

  /** connect/disconnect: Docker's host-network rule, then `change` under the container's lock, saved and announced. */
  private async changeEndpoints(
    networkTerm: string,
    containerTerm: string,
    change: (rec: ContainerRecord, net: NetworkRecord) => Promise<void>,
  ): Promise<void> {
    const rec0 = this.resolve(containerTerm);
    const net = this.deps.networks.resolve(networkTerm);
    // Container lock, then a hold on the network (the model's lock order, see NetworkController).
    await this.lock(rec0.id).run(async () => {
      const running = this.containers.get(rec0.id)?.state.status === 'running';
      const gw = running ? await this.deps.networking.gatewayNetworkFor(rec0.endpoints, net) : undefined;
      await this.deps.networks.using([net.id, ...(gw ? [gw.id] : [])], async () => {
        const rec = this.mustGet(rec0.id);
        if (!this.deps.networks.get(net.id)) throw notFound('network.not_found', `network ${networkTerm} not found`);
        if (rec.networkMode === 'host' && net.driverOptions.attach !== 'host') {
          throw forbidden('container.shared_netns', 'container sharing network namespace with another container or host cannot be connected to any other network');
        }
        if (net.driverOptions.attach === 'host' || rec.networkMode === 'host') {
          throw forbidden('container.host_network', 'container cannot be disconnected from host network or connected to host network');
        }
        await change(rec, net);
        this.deps.store.transaction(() => this.containers.put(rec));
        if (rec.state.status === 'running') await this.notify('endpointsChanged', (h) => h.endpointsChanged?.(rec));
      });
    });
  }
}


/** A wait that never keeps the process alive on its own (a stop racing an exit leaves it pending). */
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms).unref());
