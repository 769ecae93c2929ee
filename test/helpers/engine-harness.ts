/**
 * The engine's controllers wired as redesd wires them, over the fake host (fake-host.ts) and an
 * in-memory store: NetworkController, ContainerNetworking, PortPublishing (as a container hook) and
 * ContainerController. For unit tests of create/rm rollback, connect/disconnect, port publishing and
 * restart recovery without root.
 *
 * Use: `const e = await startEngine(t)`; `e.host.log` shows what reached the host; `restartEngine(e)`
 * builds a second set of controllers over the same store and fake host (a daemon restart).
 *
 * Beware: networks `bridge` (172.17.0.0/16), `host` and `none` exist from init, as in redesd; the
 * fake image runs `sleep 1d`; container namespaces are named `tst-c-<12 hex>`.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { hostDriver, nullDriver, type NetworkDriver } from '../../src/drivers/index.js';
import { ContainerController, ContainerNetworking, EventBus, NetworkController, installPortPublishing, type PortPublishing } from '../../src/engine/index.js';
import { Store } from '../../src/store/index.js';
import { setLogLevel } from '../../src/util/index.js';
import { FakeBridgeDriver, FakeHost } from './fake-host.js';

export interface TestEngine {
  host: FakeHost;
  store: Store;
  driver: FakeBridgeDriver;
  networks: NetworkController;
  ports: PortPublishing;
  containers: ContainerController;
  /** The event stream (`docker events`) of this set of controllers. */
  bus: EventBus;
  dir: string;
}

async function wire(host: FakeHost, store: Store, dir: string): Promise<TestEngine> {
  // The controllers log every step; a failing test prints its own assertion instead.
  setLogLevel(process.env.REDES_TEST_LOG ?? 'silent');
  const driver = new FakeBridgeDriver(host);
  const drivers = new Map<string, NetworkDriver>([
    ['bridge', driver as NetworkDriver],
    ['host', hostDriver],
    ['null', nullDriver],
  ]);
  const late: { containers?: ContainerController } = {};
  const networks = new NetworkController({
    store,
    drivers,
    predefined: [
      { name: 'bridge', driver: 'bridge', options: {}, ipv4: { subnet: '172.17.0.0/16', gateway: '172.17.0.1' } },
      { name: 'host', driver: 'host', options: {} },
      { name: 'none', driver: 'null', options: {} },
    ],
    ipam: { pools: [{ base: '10.90.0.0/16', size: 24 }] },
    hostRoutes: async () => [],
    endpointsOf: (id) => late.containers?.endpointsOfNetwork(id).map((e) => ({ name: e.container.name, id: e.endpoint.endpointId })) ?? [],
  });
  const ports = await installPortPublishing({ store, networks, host: host.ports });
  await networks.init();
  const resolvConf = join(dir, 'resolv.conf');
  await writeFile(resolvConf, 'nameserver 203.0.113.1\n');
  const bus = new EventBus();
  const containers = new ContainerController({
    bus,
    store,
    networks,
    networking: new ContainerNetworking(store, networks, drivers, host.netns),
    host,
    hooks: [ports],
    images: {
      resolve: () => ({ id: `sha256:${'ab'.repeat(32)}`, config: { Cmd: ['sleep', '1d'], Env: ['PATH=/bin'] } }),
      rootfsLayers: () => [],
    },
    prefix: 'tst',
    dataRoot: join(dir, 'data'),
    execRoot: join(dir, 'exec'),
    resolvConfPath: resolvConf,
  });
  late.containers = containers;
  await containers.init();
  return { host, store, driver, networks, ports, containers, bus, dir };
}

/** A fresh engine over a fake host; its temporary folder goes when the test ends. */
export async function startEngine(t: TestContext): Promise<TestEngine> {
  const dir = await mkdtemp(join(tmpdir(), 'redes-engine-'));
  const store = Store.open(':memory:');
  t.after(async () => {
    store.close();
    await rm(dir, { recursive: true, force: true });
  });
  return wire(new FakeHost(), store, dir);
}

/** A daemon killed and started again: new controllers over the same store, fake host and folders. */
export async function restartEngine(e: TestEngine): Promise<TestEngine> {
  e.host.crash();
  await e.networks.close();
  return wire(e.host, e.store, e.dir);
}

/** Waits until `cond` holds (the exit handler runs after the fake's exit resolves). */
export async function until(cond: () => boolean, what = 'condition'): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`timed out waiting for ${what}`);
}
