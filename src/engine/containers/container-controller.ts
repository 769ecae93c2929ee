/**
 * Containers, after moby's daemon: create, start, exit handling (release everything, restart policy,
 * AutoRemove), stop, kill, restart, rm, rename, re-adoption after a daemon restart. Its parts live
 * beside it (container-*.ts, recovery.ts); every kernel and process step goes through host/.
 *
 * Beware: a container's init is the shim's child, not ours; its exit is learnt from the state
 * directory (host.runtime.waitExit), which also works for containers started by an earlier daemon.
 * Operations on one container are serialised by a per-container mutex; waiting for an exit never
 * holds that mutex (the exit handler needs it).
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Collection } from '../../store/index.js';
import { readHostLimits, type ExitStatus, type HostLimits, type Runc } from '../../runtime/index.js';
import type { EngineHost } from '../../host/index.js';
import type { ContainerControllerDeps } from './controller-deps.js';
import { conflict, invalidParameter, logger, nowRfc3339Nano, ZERO_TIME, failpoint, retryInBackground, startStage } from '../../util/index.js';
import { EXIT_CONCURRENCY, mapLimited, recoverInterrupted } from './recovery.js';
import { defaultHostGateway, runStart, type StartContext } from './container-start.js';
import { RestartTimers } from './container-restarts.js';
import { newContainerRecord, withContainerDir } from './container-create.js';
import { EndpointChanges } from './container-endpoints.js';
import { ContainerEvents, ExitNotices } from './container-events.js';
import { ContainerIo, stateDirOf } from './container-io.js';
import { ContainerQueries } from './container-queries.js';
import type { AttachSession, ContainerRecord, ContainerService, ExecRecord, LogLine, LogOptions } from './container-types.js';
import { ContainerExecs } from './container-exec.js';
import { releaseMounts, removeAnonymousVolumes } from './container-mounts.js';
import type { ContainerHooks } from './container-hooks.js';
import { Mutex } from '../lock.js';
import { startsWithDaemon } from './restart-policy.js';
import { applyNewName, checkNewName } from './names.js';
import { ContainerStopper } from './container-stop.js';

export type { ImageLookup } from './container-create.js';
export type { ContainerControllerDeps } from './controller-deps.js';

const log = logger.child({ component: 'containers' });

export class ContainerController extends ContainerQueries implements ContainerService {
  private readonly locks = new Map<string, Mutex>();
  private readonly restarts = new RestartTimers((rec) => this.save(rec), (id) => void this.autoRestart(id, 'policy'));
  /** Containers being removed (a second removal is refused, as dockerd does). */
  private readonly removing = new Set<string>();
  private readonly exits = new ExitNotices();
  private readonly io = new ContainerIo();
  private readonly ev: ContainerEvents;
  private readonly endpointChanges: EndpointChanges;
  private readonly exec: ContainerExecs;
  private readonly stopper: ContainerStopper;
  private readonly runcRoot: string;
  /** The daemon's capability bounding set, open-files limit, seccomp and AppArmor: fixed for its lifetime, read once. */
  private readonly hostLimits: HostLimits;

  constructor(private readonly deps: ContainerControllerDeps) {
    super(deps.store.collection<ContainerRecord>('containers'));
    this.runcRoot = join(deps.execRoot, 'runc');
    this.hostLimits = readHostLimits(deps.prefix);
    this.exec = new ContainerExecs(this.runcRoot, (id) => this.mustGet(id), join(deps.execRoot, 'exec'), (rec, action, extra) => this.emitEvent(rec, action, extra));
    this.ev = new ContainerEvents(deps.bus, deps.networks);
    this.stopper = new ContainerStopper({
      locked: (id, fn) => this.lock(id).run(fn), mustGet: (id) => this.mustGet(id), get: (id) => this.containers.get(id), put: (rec) => this.save(rec),
      restarts: this.restarts, exits: this.exits, runtime: deps.host.runtime, emitEvent: (rec, action, extra) => this.emitEvent(rec, action, extra),
    });
    this.endpointChanges = new EndpointChanges({
      resolve: (t) => this.resolve(t),
      mustGet: (id) => this.mustGet(id),
      locked: (id, fn) => this.lock(id).run(fn),
      save: (rec) => this.save(rec),
      changed: (rec) => this.notify('endpointsChanged', (h) => h.endpointsChanged?.(rec)),
      networks: deps.networks,
      networking: deps.networking,
      events: this.ev,
    });
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
      this.save(rec);
      return out;
    });
  }

  /** Runs `fn` under the container's lock with its current record; nothing is saved (file operations). */
  exclusive<T>(term: string, fn: (rec: ContainerRecord) => Promise<T>): Promise<T> {
    const id = this.resolve(term).id;
    return this.lock(id).run(() => fn(this.mustGet(id)));
  }

  /**
   * Changes a container's endpoints outside connect/disconnect (the doctor's repairs) and tells the
   * features (DNS names, ports, links) when it runs, as a disconnect does.
   */
  repairEndpoints(term: string, fn: (rec: ContainerRecord) => Promise<unknown>): Promise<void> {
    return this.modify(term, async (rec) => {
      await fn(rec);
      if (rec.state.status === 'running') await this.notify('endpointsChanged', (h) => h.endpointsChanged?.(rec));
    });
  }

  private get containers(): Collection<ContainerRecord> {
    return this.collection;
  }

  private save(rec: ContainerRecord): void {
    this.deps.store.transaction(() => this.containers.put(rec));
  }

  /** True while an operation on any container runs or waits (start, stop, connect, an exit...). */
  busy(): boolean {
    for (const m of this.locks.values()) if (m.busy) return true;
    return false;
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
    return stateDirOf(rec);
  }

  /** Daemon start: re-adopt running containers, settle those that exited meanwhile, drop orphans. */
  async init(): Promise<void> {
    // Process files of execs a previous daemon was starting when it died.
    await rm(join(this.deps.execRoot, 'exec'), { recursive: true, force: true });
    const ended: ContainerRecord[] = [];
    for (const rec of this.containers.list()) {
      if (rec.state.status !== 'running') continue;
      if (this.rt.isRunning(this.stateDir(rec))) {
        this.monitor(rec);
        log.info({ id: rec.id, name: rec.name }, 're-adopted running container');
      } else ended.push(rec);
    }
    startStage(log, 're-adopted');
    // Those that ended while the daemon was down (all of them after a reboot): a few cleaned up at once.
    await mapLimited(ended, EXIT_CONCURRENCY, (rec) => this.onExit(rec.id, this.rt.exitStatus(this.stateDir(rec))));
    startStage(log, 'exits settled');
    const records = this.containers.list(); // parsed once for the rest of the start: only the recovery changes them
    const recovered = await recoverInterrupted({
      store: this.deps.store, records: () => records, save: (r) => this.save(r), networking: this.deps.networking, runtime: this.rt,
      netns: this.deps.host.netns, netnsPrefix: `${this.deps.prefix}-c-`, networkIds: () => this.deps.networks.all().map((n) => n.id),
      stateDir: (r) => this.stateDir(r), containersDir: join(this.deps.dataRoot, 'containers'),
    });
    for (const what of recovered) log.info({ recovery: what }, 'crash recovery');
    startStage(log, 'crash recovery');
    await this.notify('restore', (h) => h.restore?.(records.filter((c) => c.state.status === 'running')));
    startStage(log, 'restore hooks');
    await this.deps.networks.onLostEndpoints((lost) => this.endpointChanges.dropLost(lost, (n) => this.endpointsOfNetwork(n))); // now, or when a store appears
    // Restart policies across a daemon restart: what dockerd's restore starts again.
    for (const rec of records) {
      if ((rec.state.status === 'exited' || rec.state.status === 'restarting') && !this.restarts.pending(rec.id) && startsWithDaemon(rec)) {
        if (rec.state.status === 'exited') this.deps.store.transaction(() => this.containers.put({ ...rec, state: { ...rec.state, status: 'restarting' } }));
        void this.autoRestart(rec.id, 'daemon-start');
      }
    }
  }

  async create(name: string | undefined, body: unknown): Promise<{ id: string; warnings: string[] }> {
    const rec = await newContainerRecord(name, body, {
      findByName: (n) => this.findByName(n),
      resolve: (t) => this.resolve(t),
      networks: this.deps.networks,
      networking: this.deps.networking,
      images: this.deps.images,
      prefix: this.deps.prefix,
      dataRoot: this.deps.dataRoot, logDefaults: this.deps.logDefaults,
      ...(this.deps.volumes ? { volumes: this.deps.volumes } : {}),
    });
    const { id, name: created, dir } = rec;
    for (const h of this.hooks) h.validateCreate?.(rec);
    await withContainerDir(dir, () => this.save(rec));
    log.info({ id, name: created }, 'container created');
    this.emitEvent(rec, 'create');
    return { id, warnings: [] };
  }

  start(term: string): Promise<boolean> {
    const rec0 = this.resolve(term);
    return this.lock(rec0.id).run(async () => {
      const rec = this.mustGet(rec0.id);
      if (rec.state.status === 'running') return false;
      this.restarts.cancel(rec);
      this.restarts.starting(rec.id);
      rec.restartCount = 0;
      rec.state = { ...rec.state, manuallyStopped: false };
      await this.startLocked(rec);
      return true;
    });
  }

  /** Starts under the container's lock, holding its networks so that none is removed meanwhile. */
  private async startLocked(rec: ContainerRecord, byPolicy = false): Promise<void> {
    // The gateway bridge (overlay containers) is made before the holds: making it takes the network lock.
    const gw = rec.netns && !rec.networkMode.startsWith('container:') ? await this.deps.networking.gatewayNetworkFor(rec.endpoints) : undefined;
    const ids = [...Object.values(rec.endpoints).map((e) => e.networkId), ...(gw ? [gw.id] : [])];
    return this.deps.networks.using(ids, () => this.startHeld(rec, byPolicy));
  }

  private async startHeld(rec: ContainerRecord, byPolicy: boolean): Promise<void> {
    // A start by the policy saves its copy of the record: a `docker stop` that marked it meanwhile wins.
    const save = (): void => {
      if (byPolicy && this.containers.get(rec.id)?.state.manuallyStopped) rec.state = { ...rec.state, manuallyStopped: true };
      this.save(rec);
    };
    let pid: number;
    try {
      ({ pid } = await runStart(rec, this.startContext));
    } catch (e) {
      rec.state = { ...rec.state, status: rec.state.startedAt === ZERO_TIME ? 'created' : 'exited', error: (e as Error).message, exitCode: 128 };
      save();
      // As dockerd: a --rm container that cannot start is removed (the CLI waits for condition=removed).
      if (rec.hostConfig.AutoRemove === true) void this.remove(rec.id, { force: true, volumes: false, link: false }).catch(() => undefined);
      throw e;
    }
    rec.state = { ...rec.state, status: 'running', pid, exitCode: 0, error: '', startedAt: nowRfc3339Nano(), finishedAt: rec.state.finishedAt };
    save();
    this.monitor(rec);
    await this.notify('afterStart', (h) => h.afterStart?.(rec));
    log.info({ id: rec.id, name: rec.name, pid }, 'container started');
    this.ev.endpoints(rec, 'connect');
    this.ev.volumes(rec, 'mount');
    this.emitEvent(rec, 'start');
  }

  private get startContext(): StartContext {
    return {
      mustGet: (id) => this.mustGet(id),
      hostGateway: () => [...(this.deps.hostGatewayIps ?? defaultHostGateway(this.deps.networks.all()))],
      networking: this.deps.networking,
      hooks: this.hooks,
      notify: (what, fn) => this.notify(what, fn),
      runtime: this.rt,
      io: this.io,
      ...(this.deps.volumes ? { volumes: this.deps.volumes } : {}),
      bundle: (rec) => ({
        layers: this.deps.images.rootfsLayers(rec.image),
        runtime: this.rt,
        ...(this.deps.volumes ? { volumes: this.deps.volumes } : {}),
        resolvConfPath: this.deps.resolvConfPath,
        hostLimits: this.hostLimits,
        cgroupPath: this.cgroupPath(rec.id),
      }),
    };
  }

  private monitor(rec: ContainerRecord): void {
    void this.rt.waitExit(this.stateDir(rec)).then(
      (st) => retryInBackground(`recording the exit of ${rec.id}`, () => this.onExit(rec.id, st)), // a failure before the record: all again
      (e: unknown) => log.error({ err: e, id: rec.id }, 'waiting for container exit failed'),
    );
  }

  /** The container's program is over: release runtime, mounts, endpoints and namespace. */
  private onExit(id: string, st: ExitStatus | null): Promise<void> {
    return this.lock(id).run(async () => {
      const rec = this.containers.get(id);
      if (!rec || rec.state.status !== 'running') return;
      const oomKilled = st?.oomKilled ?? (Number(rec.hostConfig.Memory ?? 0) > 0 && (st?.exitCode ?? 0) !== 0 && this.rt.oomKilled(this.cgroupPath(id)));
      // The shim runs `runc delete` before it records an exit; only a lost shim leaves runc's state.
      if (!st || st.lost) await this.rt.delete(id).catch((e: unknown) => log.warn({ err: e, id }, 'runc delete failed'));
      this.ev.endpoints(rec, 'disconnect');
      failpoint('container.exit.after-delete');
      // Endpoints and the rootfs mount are independent: release both at once.
      await Promise.all([this.releaseNetwork(rec), this.rt.unmountRootfs(rec.dir).catch((e: unknown) => log.warn({ err: e, id }, 'unmount failed'))]);
      rec.state = { ...rec.state, status: 'exited', paused: false, oomKilled, pid: 0, exitCode: st?.exitCode ?? 255, finishedAt: st?.finishedAt ?? nowRfc3339Nano() };
      // Known now, disk or not: kept in memory when even SQLite's room is gone.
      if (!this.containers.putOrKeep(rec)) retryInBackground(`recording the exit of ${id}`, async () => this.containers.flushKept());
      log.info({ id, name: rec.name, exitCode: rec.state.exitCode }, 'container exited');
      if (this.deps.volumes) await releaseMounts(rec.mounts ?? [], this.deps.volumes);
      if (oomKilled) this.emitEvent(rec, 'oom');
      this.ev.volumes(rec, 'unmount');
      this.emitEvent(rec, 'die', { exitCode: String(rec.state.exitCode) });
      this.exits.exited(id, rec.state.exitCode);
      this.restarts.afterExit(rec);
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

  async stop(term: string, opts: { signal?: string; timeout?: number }): Promise<boolean> {
    return this.stopper.stop(this.resolve(term), opts);
  }

  /** Docker's event for a container: its labels, image and name, plus `extra`. */
  emitEvent(rec: ContainerRecord, action: string, extra: Record<string, string> = {}): void {
    this.ev.container(rec, action, extra);
  }

  async restart(term: string, opts: { signal?: string; timeout?: number }): Promise<void> {
    await this.stop(term, opts);
    const rec = this.resolve(term);
    await this.lock(rec.id).run(async () => {
      const r = this.mustGet(rec.id);
      if (r.state.status !== 'running') {
        this.restarts.starting(r.id);
        r.restartCount = 0;
        await this.startLocked(r);
      }
      this.emitEvent(r, 'restart');
    });
  }

  kill(term: string, signal?: string): Promise<void> {
    return this.stopper.kill(this.resolve(term), signal);
  }

  /** A restart by the policy (or at daemon start): counted in RestartCount, as Docker does. */
  private autoRestart(id: string, why: 'policy' | 'daemon-start'): Promise<void> {
    this.restarts.fired(id);
    return this.lock(id).run(async () => {
      const rec = this.containers.get(id);
      if (!rec || (rec.state.status !== 'restarting' && why === 'policy') || rec.state.status === 'running' || this.restarts.stopAsked(id)) return;
      if (why === 'policy') rec.restartCount++;
      await this.startLocked(rec, true).catch((e: unknown) => log.warn({ err: e, id }, 'restart by policy failed'));
    });
  }

  wait(term: string, condition: string): Promise<{ StatusCode: number; Error: { Message: string } | null }> {
    return this.exits.wait(this.resolve(term), condition);
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
    if (rec0.state.status === 'running' || rec0.state.status === 'restarting') {
      // As dockerd, the container is named as the request named it (the CLI strips a leading slash),
      // and a frozen one is to be unpaused rather than stopped.
      if (!opts.force) {
        if (rec0.state.paused) throw conflict('container.remove_paused', `cannot remove container "${term}": container is paused and must be unpaused first`);
        throw conflict('container.running', `cannot remove container "${term}": container is ${rec0.state.status}: stop the container before removing or force remove`);
      }
      await this.stopper.killForRemoval(rec0);
    }
    await this.lock(rec0.id).run(async () => {
      const rec = this.containers.get(rec0.id);
      if (!rec) return;
      await this.rt.delete(rec.id).catch(() => undefined); // `--force`: a process still there dies before its network goes
      if (rec.state.status === 'running') await this.onExitUnlocked(rec);
      await this.rt.unmountRootfs(rec.dir).catch(() => undefined);
      failpoint('container.rm.after-unmount');
      await rm(rec.dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 }); // the shim may still write state/ (ENOTEMPTY) after the exit wait ran out
      this.deps.store.transaction(() => this.containers.delete(rec.id));
      this.restarts.removed(rec.id);
      if (opts.volumes && this.deps.volumes) await removeAnonymousVolumes(rec.mounts ?? [], this.deps.volumes);
      await this.notify('removed', (h) => h.removed?.(rec));
      log.info({ id: rec.id, name: rec.name }, 'container removed');
      this.emitEvent(rec, 'destroy');
      this.exits.removed(rec.id, rec.state.exitCode);
    });
    this.locks.delete(rec0.id);
  }

  /** A running container whose exit we never saw (kill failed; runc has deleted it since): clean it as if it had exited. */
  private async onExitUnlocked(rec: ContainerRecord): Promise<void> {
    await this.releaseNetwork(rec);
    rec.state = { ...rec.state, status: 'exited', pid: 0, exitCode: 137, finishedAt: nowRfc3339Nano() };
    this.emitEvent(rec, 'die', { exitCode: '137' });
  }

  async rename(term: string, newName: string): Promise<void> {
    const rec = this.resolve(term);
    const oldName = applyNewName(rec, checkNewName(newName, (n) => this.findByName(n)));
    this.save(rec);
    await this.notify('renamed', (h) => h.renamed?.(rec, oldName));
    this.emitEvent(rec, 'rename', { oldName: `/${oldName}` });
  }

  attach(term: string, opts: { stdin: boolean; stdout: boolean; stderr: boolean; logs: boolean; stream: boolean }): Promise<AttachSession> {
    return this.io.attach(this.resolve(term), opts);
  }

  logs(term: string, opts: LogOptions): AsyncIterable<LogLine> {
    return this.io.logs(this.resolve(term), opts);
  }

  resize(term: string, height: number, width: number): Promise<void> {
    return this.io.resize(this.resolve(term), height, width);
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
    return this.endpointChanges.connect(networkTerm, containerTerm, endpointConfig);
  }

  disconnect(networkTerm: string, containerTerm: string, force: boolean): Promise<void> {
    return this.endpointChanges.disconnect(networkTerm, containerTerm, force);
  }
}
