/**
 * redesd: the daemon. Wires the layers together (store → drivers → engine → API), restores the kernel
 * state of every stored network, then serves the Engine API on a unix socket.
 *
 * Beware: it programs the network namespace it runs in (bridges, nftables, ip_forward). It refuses the
 * machine's root namespace unless told otherwise; `redes sandbox up` starts it in a sandbox.
 */
import { mkdir, realpath, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ENGINE_VERSION, createApiServer, createTlsApiServer, listenTcp, listenUnix, networkRoutes, Router, systemRoutes, swarmRoutes, imageRoutes, containerRoutes, containersOf, containerOpsRoutes, volumeRoutes, eventRoutes, containerFileRoutes, systemDfRoutes, closeHijacked, handleUpgrade, firewallRoutes, auditRoutes, buildRoutes, doctorRoutes, spaceGuard } from '../api/index.js';
import { EventBus, withImageEvents, healthHooks, ContainerUpdates, ContainerObserver, ContainerFiles, ContainerUsage, ContainerController, ContainerNetworking, NetworkController, createServiceDiscovery, installPortPublishing } from '../engine/index.js';
import { Volumes } from '../volumes/index.js';
import { openImageService } from '../images/index.js';
import { BridgeDriver, MacvlanDriver, hostDriver, nullDriver, overlayDevices, predefinedNetworks, type GuardedPort, type NetworkDriver } from '../drivers/index.js';
import { FirewallManager, NftFirewall, NoFirewall } from '../firewall/index.js';
import { KernelHost } from '../host/index.js';
import { isRootNetns, selfNetnsNamed, routePrefixes, ensureSystemGroup, readHostFacts, freeBytes, ensureSelfBind, isSelfBind, releaseSelfBind, NETNS_DIR } from '../kernel/index.js';
import type { Auditor, Doctor } from '../audit/index.js';
import { DEFAULT_LOCAL_POOLS, withUlaPool } from '../ipam/index.js';
import { Store } from '../store/index.js';
import { ensureAppArmorProfile, openMountTemplate, readHostLimits, securityOptionsInfo, type MountTemplate } from '../runtime/index.js';
import { newId, logger, ownGet, setLogLevel, startStage } from '../util/index.js';
import { DAEMON_USAGE, parseDaemonOptions, type DaemonOptions } from './daemon-options.js';
import { openDaemonCluster } from './cluster-wiring.js';
import { overlayWiring, remoteDnsSink } from './overlay-wiring.js';
import { installEscapedErrorHandlers } from './escaped-errors.js';

const log = logger.child({ component: 'daemon' });
const stage = (name: string): void => startStage(log, name);

/** The containers directory once bound onto itself: unmounted at the exit when nothing lies below it. */
let boundContainersDir: string | undefined;

/** Left in place while running containers keep their rootfs mounted below it (the next daemon reuses it). */
async function releaseContainersDir(): Promise<void> {
  if (boundContainersDir) await releaseSelfBind(boundContainersDir).catch((e: unknown) => log.warn({ err: e }, 'unmounting the containers directory failed'));
}

/**
 * The self-binds every `runc create` detaches in a private mount namespace (runtime/private-mounts.ts):
 * the containers directory, bound onto itself here (kept across a crash, not stacked), and /run/netns
 * when `ip netns` made it one. Without them runc runs in this namespace, whose mounts grow with the
 * containers of the machine.
 */
async function runcPrivateMountDirs(containersDir: string): Promise<string[]> {
  const dirs: string[] = [];
  try {
    await mkdir(containersDir, { recursive: true, mode: 0o700 });
    const dir = await realpath(containersDir);
    if (await ensureSelfBind(dir)) dirs.push((boundContainersDir = dir));
    else log.warn({ dir }, 'mounts lie below the containers directory but it is no mount of its own: runc create keeps them');
    const netns = await realpath(NETNS_DIR).catch(() => undefined);
    if (netns && (await isSelfBind(netns))) dirs.push(netns);
  } catch (e) {
    log.warn({ err: e }, 'no private mount namespace for runc create');
  }
  return dirs;
}

/** The namespace each `runc create` copies (runtime/mount-template.ts); closed at the exit. */
let mountTemplate: MountTemplate | undefined;

/** Without it each create copies this namespace and detaches `dirs` there: right, but slower as containers grow. */
async function runcMountTemplate(dirs: readonly string[]): Promise<MountTemplate | undefined> {
  if (dirs.length === 0) return undefined;
  try {
    return await openMountTemplate(dirs);
  } catch (e) {
    log.warn({ err: e }, "no mount template: runc create copies the daemon's mount namespace (its cost grows with the number of containers)");
    return undefined;
  }
}

async function main(argv: string[]): Promise<number> {
  let opts: DaemonOptions | 'help';
  try {
    opts = parseDaemonOptions(argv);
  } catch (e) {
    process.stderr.write(`redesd: ${(e as Error).message}\n\n${DAEMON_USAGE}`);
    return 2;
  }
  if (opts === 'help') {
    process.stdout.write(DAEMON_USAGE);
    return 0;
  }
  setLogLevel(opts.logLevel);
  installEscapedErrorHandlers();
  // Two guards: not the root namespace, and a namespace someone named under /run/netns (a sandbox
  // host). The second also holds on kernels where the root namespace cannot be recognised.
  if (!opts.allowRootNetns && ((await isRootNetns()) || !(await selfNetnsNamed()))) {
    process.stderr.write(
      "redesd: refusing to start in the machine's root network namespace: it would create bridges, " +
        'nftables rules and set ip_forward on this machine itself (it runs only in a named network namespace ' +
        'such as a sandbox host). Start it in a sandbox with ' +
        '`redes sandbox up`, or pass --allow-root-netns if that is really what you want\n',
    );
    return 1;
  }
  await mkdir(opts.dataRoot, { recursive: true, mode: 0o700 });
  await mkdir(opts.execRoot, { recursive: true, mode: 0o700 });
  stage('options');
  const store = Store.open(join(opts.dataRoot, 'state.db'));
  stage('store');
  let daemonId = store.getMeta('daemon-id');
  if (!daemonId) {
    daemonId = newId();
    store.setMeta('daemon-id', daemonId);
  }
  // The cluster store (swarm membership or --cluster-store), for global drivers; undefined outside a cluster.
  const cluster = await openDaemonCluster(opts, store, daemonId, ENGINE_VERSION);
  const firewall = opts.iptables ? new NftFirewall() : new NoFirewall();
  const fwm = new FirewallManager(firewall, opts.prefix);
  const bridge = new BridgeDriver(fwm, store.collection<GuardedPort>('l2guard'));
  // Everything else the engine does to the kernel and to container processes goes through this one seam.
  const containersDir = join(opts.dataRoot, 'containers');
  const privateMountDirs = opts.runcPrivateMounts ? await runcPrivateMountDirs(containersDir) : [];
  mountTemplate = await runcMountTemplate(privateMountDirs);
  const host = new KernelHost({ runcRoot: join(opts.execRoot, 'runc'), firewall: fwm, privateMountDirs, ...(mountTemplate ? { mountTemplate } : {}) });
  const drivers = new Map<string, NetworkDriver>([
    ['bridge', bridge],
    ['host', hostDriver],
    ['null', nullDriver],
    ['macvlan', new MacvlanDriver()],
  ]);
  // Overlay networks (global scope) live in the cluster store; the driver follows the membership.
  const overlay = overlayWiring(cluster.access, { prefix: opts.prefix, dataRoot: opts.dataRoot, role: () => (opts.clusterStore ? undefined : cluster.swarm.local?.role), guard: fwm, ...(opts.wireguardGo ? { wireguardGo: opts.wireguardGo } : {}) });
  drivers.set('overlay', overlay.driver);
  const pools = withUlaPool(opts.pools ?? DEFAULT_LOCAL_POOLS, daemonId);
  // The network controller asks the container controller which endpoints use a network; the
  // two are made one after the other, so the question goes through this late-bound reference.
  const late: { containers?: ContainerController } = {};
  const networks = new NetworkController({
    store,
    drivers,
    predefined: predefinedNetworks({ ...(opts.bip ? { bip: opts.bip } : {}), icc: opts.icc }),
    ipam: { pools },
    hostRoutes: async () => routePrefixes(),
    endpointsOf: (id) => late.containers?.endpointsOfNetwork(id).map((e) => ({ name: e.container.name, id: e.endpoint.endpointId })) ?? [],
    cluster: () => cluster.access.store,
    ...(opts.clusterStore ? { globalScope: 'global' as const } : {}),
  });
  // Before the networks are restored, so that the first full ruleset already holds the stored ports.
  const ports = await installPortPublishing({ store, networks, host: host.ports });
  stage('ports');
  await networks.init();
  stage('networks');
  await overlay.follow(networks);

  const images = await openImageService(join(opts.dataRoot, 'images'), {
    registries: { mirrors: opts.registryMirrors, insecure: opts.insecureRegistries, certsDir: opts.registryCertsDir, resolvConf: opts.resolvConf, uplink: opts.registryUplink },
  });
  if (opts.busyboxImage) await images.ensureBusybox();
  // Embedded DNS (127.0.0.11 in each container on a user network) and legacy links.
  const sd = createServiceDiscovery({
    networks,
    containers: () => late.containers,
    resolvConfPath: opts.resolvConf,
    save: (r) => store.transaction(() => store.collection('containers').put(r)),
    firewall: fwm,
    upstreamTimeoutMs: opts.dnsUpstreamTimeoutMs,
  });
  // Containers of other hosts on a shared overlay network answer by name too.
  overlay.setRemoteSink(remoteDnsSink(sd.dns.records, (id) => networks.get(id)?.name ?? ''));
  const bus = new EventBus();
  const volumes = new Volumes({
    onEvent: (action, name) => bus.emit('volume', action, name, { driver: 'local' }),
    store,
    root: join(opts.dataRoot, 'volumes'),
    usersOf: (name) => late.containers?.volumeUsers(name) ?? [],
    runningUsersOf: (name) => late.containers?.volumeUsers(name, true) ?? [],
  });
  const networking = new ContainerNetworking(store, networks, drivers, host.netns);
  const ctl = new ContainerController({
    volumes,
    bus,
    hooks: [
      ports,
      ...sd.hooks,
      healthHooks({
        runcRoot: join(opts.execRoot, 'runc'),
        modify: (id, fn) => (late.containers as ContainerController).modify(id, fn),
        emitEvent: (rec, action, extra) => late.containers?.emitEvent(rec, action, extra),
      }),
    ],
    removeLink: (name) => sd.links.removeLink(name),
    logDefaults: opts.logDefaults,
    store,
    networks,
    networking,
    host,
    images: { resolve: (ref) => images.resolve(ref), rootfsLayers: (id) => images.store.rootfsLayers(id) },
    prefix: opts.prefix,
    ...(opts.hostGatewayIps ? { hostGatewayIps: opts.hostGatewayIps } : {}),
    dataRoot: opts.dataRoot,
    execRoot: opts.execRoot,
    resolvConfPath: opts.resolvConf,
  });
  late.containers = ctl;
  images.deps.inUse = (imageId) => {
    const users = ctl.list({ all: true }).filter((c) => c.image === imageId);
    const running = users.find((c) => c.state.status === 'running');
    const user = running ?? users[0];
    return user ? { containerId: user.id, running: !!running } : undefined;
  };
  // Containers run under `<prefix>-default` when the kernel has AppArmor (as docker-default).
  await ensureAppArmorProfile(opts.prefix).catch((e: unknown) => log.error({ err: e }, 'loading the AppArmor profile failed; containers run unconfined'));
  stage('images');
  await ctl.init();
  stage('containers');

  const router = new Router();
  // A full data root refuses changes up front (a clean 500) rather than half way through them.
  router.changeGuard = spaceGuard(() => freeBytes(opts.dataRoot), opts.dataRoot);
  systemRoutes(router, {
    daemonId,
    dataRoot: opts.dataRoot,
    counts: () => ({ ...ctl.counts(), images: images.list().length }),
    iptables: opts.iptables,
    hostFacts: readHostFacts,
    defaultAddressPools: pools.map((p) => ({ Base: p.base, Size: p.size })),
    hostname: cluster.hostname,
    swarm: () => cluster.swarm.info(),
    extra: cluster.infoFields,
    securityOptions: securityOptionsInfo(readHostLimits(opts.prefix)),
    loggingDriver: opts.logDefaults.Type,
  });
  swarmRoutes(router, { swarm: cluster.swarm });
  networkRoutes(router, { networks, containersOf: (id) => containersOf(ctl, id), peersOf: (id) => overlay.peers(id), onEvent: (action, id, attrs) => bus.emit('network', action, id, attrs) });
  imageRoutes(router, { images: withImageEvents(images, (action, id, attrs) => bus.emit('image', action, id, attrs)) });
  buildRoutes(router, { images, containers: ctl, tmpRoot: join(opts.dataRoot, 'images', 'tmp') });
  containerRoutes(router, { containers: ctl, networks, portsOf: (id) => ports.portsOf(id) });
  volumeRoutes(router, { volumes });
  eventRoutes(router, { bus });
  const updates = new ContainerUpdates(ctl);
  const usage = new ContainerUsage(ctl, { imageSize: (id) => images.store.get(id)?.size ?? 0, emit: (attrs) => bus.emit('container', 'prune', '', attrs) });
  containerFileRoutes(router, {
    usage,
    files: new ContainerFiles(ctl, {
      layers: (id) => images.store.rootfsLayers(id),
      volumePath: (name) => volumes.path(name),
      imageSpec: (id) => (images.store.get(id) ?? images.resolve(id)).spec,
      commit: (layer, makeConfig, tags) => images.store.commit(layer, makeConfig, tags),
      pause: (id) => updates.pause(id),
      unpause: (id) => updates.unpause(id),
    }),
  });
  systemDfRoutes(router, {
    containers: () => ctl.list({ all: true }),
    usage,
    images: () => images.store.list(),
    layerSize: (d) => images.store.layerSize(d),
    volumes,
    volumeUsers: (name) => ctl.volumeUsers(name),
    portsOf: (id) => ports.portsOf(id),
  });
  containerOpsRoutes(router, {
    updates,
    observer: new ContainerObserver({ resolve: (t) => ctl.resolve(t), cgroupPath: (id) => ctl.cgroupPath(id) }),
  });
  firewallRoutes(router, {
    enabled: opts.iptables,
    reload: () => fwm.reload(),
    summary: () => ({ networks: fwm.state().networks.length, ports: fwm.state().ports?.length ?? 0 }),
  });
  // The audit and the doctor (some twenty modules and yaml) load at their first request, not with the daemon.
  let auditing: Promise<{ auditor: Auditor; doctor: Doctor }> | undefined;
  const audit = (): NonNullable<typeof auditing> =>
    (auditing ??= import('../audit/index.js').then(({ Auditor, Doctor }) => ({
      auditor: new Auditor(
        { prefix: opts.prefix, networks: () => networks.all(), containers: () => ctl.list({ all: true }), firewall: () => fwm.state(), overlayDevices, remoteEndpoints: () => overlay.remoteEndpoints() },
        opts.auditWorldNetns ? { worldNetns: opts.auditWorldNetns } : {},
      ),
      doctor: new Doctor(
        {
          prefix: opts.prefix,
          containersDir,
          runcRoot: ctl.runc.root,
          containers: () => ctl.list({ all: true }),
          networks: () => networks.all(),
          allocations: () => store.allAllocations(),
          firewall: () => (opts.iptables ? fwm.state() : undefined),
          portOwners: () => fwm.owners(),
          dns: () => sd.dns.records.entries(),
        },
        {
          busy: () => ctl.busy() || networks.busy(),
          releaseOwner: (owner) => store.transaction(() => store.releaseOwner(owner)),
          reconcile: (id) => ctl.repairEndpoints(id, (rec) => networking.reconcile(rec)),
          dropEndpoint: (id, network) =>
            ctl.repairEndpoints(id, async (rec) => {
              const ep = ownGet(rec.endpoints, network);
              if (ep && rec.state.status === 'running' && rec.netns) await networking.leave(ep, rec.netns);
              delete rec.endpoints[network];
            }),
          forgetDns: (id) => sd.dns.records.deleteContainer(id),
          reloadFirewall: () => fwm.reload(),
        },
      ),
    })));
  auditRoutes(router, {
    report: async (o) => (await audit()).auditor.report(o),
    topologySvg: async () => (await audit()).auditor.topologySvg(),
    fingerprint: () =>
      JSON.stringify([
        ctl.list({ all: true }).map((c) => [c.id, c.name, c.state.status, Object.values(c.endpoints).map((e) => e.ipv4Address)]),
        networks.all().map((n) => n.id),
        fwm.state().ports?.length ?? 0,
      ]),
  });
  doctorRoutes(router, { check: async () => (await audit()).doctor.check(), repair: async () => (await audit()).doctor.repair() });
  const limits = { headerTimeoutMs: opts.apiHeaderTimeoutS * 1000 };
  const server = createApiServer(router, limits);
  handleUpgrade(server, router);
  await listenUnix(server, opts.socketPath, await ensureSystemGroup(opts.socketGroup));
  const servers = [server];
  for (const t of opts.tcp) {
    const s = opts.tls ? await createTlsApiServer(router, opts.tls, limits) : createApiServer(router, limits);
    handleUpgrade(s, router);
    await listenTcp(s, t.address, t.port);
    servers.push(s);
    log.info({ address: t.address, port: t.port, tls: Boolean(opts.tls) }, opts.tls ? 'API on tcp with mutual TLS' : 'API on tcp WITHOUT TLS (--insecure-tcp)');
  }
  stage('listening');
  log.info({ socket: opts.socketPath, group: opts.socketGroup, prefix: opts.prefix, dataRoot: opts.dataRoot }, 'redesd ready');

  await new Promise<void>((resolve) => {
    const stop = (signal: string): void => {
      log.info({ signal }, 'shutting down');
      // Open attach, exec, `logs -f` and `wait` connections would keep the server from closing.
      closeHijacked();
      let open = servers.length;
      for (const s of servers) {
        s.closeAllConnections();
        s.close(() => {
          if (--open === 0) resolve();
        });
      }
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  sd.close();
  await overlay.close();
  await networks.close();
  await cluster.close();
  store.close();
  mountTemplate?.close();
  await releaseContainersDir();
  await rm(opts.socketPath, { force: true });
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  async (e: unknown) => {
    log.fatal({ err: e }, 'redesd failed');
    process.stderr.write(`redesd: ${(e as Error).message ?? String(e)}\n`);
    mountTemplate?.close();
    await releaseContainersDir(); // a start that failed half way leaves no mount behind
    process.exit(1);
  },
);
