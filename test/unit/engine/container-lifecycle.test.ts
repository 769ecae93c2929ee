// The container controller, its networking and port publishing over the fake host: the order of
// the kernel steps at start, stop, rm, connect and disconnect; the rollback of a start that fails
// at each step; addresses and host ports given back; and recovery when the daemon restarts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { restartEngine, startEngine, until, type TestEngine } from '../../helpers/engine-harness.js';

const WEB = { Image: 'busybox', ExposedPorts: { '80/tcp': {} }, HostConfig: { PortBindings: { '80/tcp': [{ HostPort: '8080' }] } } };

/** The log lines written while `fn` ran. */
async function during(e: TestEngine, fn: () => Promise<unknown>): Promise<string[]> {
  const from = e.host.log.length;
  await fn();
  return e.host.log.slice(from);
}

const addressesOf = (e: TestEngine, net: string): string[] => e.store.allocations(e.networks.resolve(net).id).map((a) => a.address);
const status = (e: TestEngine, id: string): string => e.containers.resolve(id).state.status;

test('start plugs the container in before its ports are published, and the ports before the program runs (the rootfs is mounted meanwhile)', async (t) => {
  const e = await startEngine(t);
  const { id } = await e.containers.create('web', WEB);
  const short = id.slice(0, 12);
  const steps = await during(e, () => e.containers.start(id));
  assert.deepEqual(steps, [
    'runtime.mountRootfs',
    `netns.create tst-c-${short}`,
    'driver.join bridge eth0 172.17.0.2/16 gw',
    `ports.reserve ${short} 0.0.0.0:8080/tcp`,
    'ports.hairpin veth0000001',
    `ports.setRules ${short} 0.0.0.0:8080->172.17.0.2:80`,
    `runtime.create ${short}`,
    `runtime.start ${short}`,
  ]);
  assert.equal(status(e, id), 'running');
  assert.deepEqual(e.ports.portsOf(id), { '80/tcp': [{ HostIp: '0.0.0.0', HostPort: '8080' }] });
  assert.deepEqual(addressesOf(e, 'bridge'), ['172.17.0.2']);
});

test('an exit unpublishes the ports, then leaves the network and deletes the namespace (the rootfs is unmounted meanwhile; the shim already told runc to forget it); the address is free again', async (t) => {
  const e = await startEngine(t);
  const { id } = await e.containers.create('web', WEB);
  const short = id.slice(0, 12);
  await e.containers.start(id);
  const steps = await during(e, () => e.containers.stop(id, {}));
  assert.deepEqual(steps, [
    `runtime.signal ${short} TERM`,
    `ports.release ${short}`,
    'runtime.unmountRootfs',
    `ports.setRules ${short} -`,
    'driver.leave bridge eth0',
    `netns.delete tst-c-${short}`,
  ]);
  assert.equal(status(e, id), 'exited');
  assert.equal(e.containers.resolve(id).state.exitCode, 143);
  assert.deepEqual(addressesOf(e, 'bridge'), []);
  assert.equal(e.ports.portsOf(id), undefined);
  assert.equal(e.host.held.size + e.host.rules.size + e.host.namespaces.size, 0);
});

test('a start that fails at each kernel step leaves no namespace, address, port or rule, and can be retried', async (t) => {
  const e = await startEngine(t);
  await e.networks.create({ Name: 'red', IPAM: { Config: [{ Subnet: '10.1.1.0/24' }] } });
  const { id } = await e.containers.create('web', { ...WEB, NetworkingConfig: { EndpointsConfig: { red: {} } } });
  for (const step of ['netns.create', 'driver.join', 'ports.reserve', 'ports.hairpin', 'ports.setRules', 'runtime.mountRootfs', 'runtime.create', 'runtime.start']) {
    e.host.failNext(step, new Error(`${step} broke`));
    await assert.rejects(e.containers.start(id), new RegExp(`${step} broke`), step);
    const rec = e.containers.resolve(id);
    assert.equal(rec.state.status, 'created', step);
    assert.match(rec.state.error, new RegExp(`${step} broke`), step);
    assert.deepEqual([...e.host.namespaces.keys()], [], `${step}: no namespace left`);
    assert.deepEqual([...addressesOf(e, 'bridge'), ...addressesOf(e, 'red')], [], `${step}: no address held`);
    assert.equal(e.host.held.size + e.host.rules.size, 0, `${step}: no port held or programmed`);
    assert.ok(Object.values(rec.endpoints).every((ep) => !ep.endpointId && !ep.ifname), `${step}: endpoints unplugged`);
    assert.equal(e.host.procs.size, 0, `${step}: no runtime container left`);
  }
  await e.containers.start(id);
  assert.equal(status(e, id), 'running');
  assert.deepEqual(e.ports.portsOf(id), { '80/tcp': [{ HostIp: '0.0.0.0', HostPort: '8080' }] });
});

test('a join that fails on the second network leaves the first and releases both addresses', async (t) => {
  const e = await startEngine(t);
  await e.networks.create({ Name: 'red', IPAM: { Config: [{ Subnet: '10.1.1.0/24' }] } });
  const { id } = await e.containers.create('c1', { Image: 'busybox', NetworkingConfig: { EndpointsConfig: { red: {} } } });
  const short = id.slice(0, 12);
  const origJoin = e.driver.joinEndpoint.bind(e.driver);
  let joins = 0;
  e.driver.joinEndpoint = async (net, ns, ep) => {
    if (++joins === 2) throw new Error('bridge full');
    return origJoin(net, ns, ep);
  };
  const steps = await during(e, () => assert.rejects(e.containers.start(id), /bridge full/));
  assert.deepEqual(steps.filter((s) => s.startsWith('driver.') || s.startsWith('netns.')), [
    `netns.create tst-c-${short}`,
    'driver.join bridge eth0 172.17.0.2/16 gw',
    'driver.leave bridge eth0',
    `netns.delete tst-c-${short}`,
  ]);
  assert.deepEqual([...addressesOf(e, 'bridge'), ...addressesOf(e, 'red')], []);
});

test('a host port another process holds fails the start with Docker\'s text and frees the port for a later start', async (t) => {
  const e = await startEngine(t);
  const { id } = await e.containers.create('web', WEB);
  e.host.busyPorts.add('0.0.0.0:8080/tcp');
  await assert.rejects(
    e.containers.start(id),
    /^RedesError: driver failed programming external connectivity on endpoint web \([0-9a-f]{64}\): failed to bind host port for 0\.0\.0\.0:8080:172\.17\.0\.2:80\/tcp: address already in use$/,
  );
  assert.equal(e.host.rules.size, 0);
  e.host.busyPorts.clear();
  await e.containers.start(id);
  assert.deepEqual(e.ports.portsOf(id), { '80/tcp': [{ HostIp: '0.0.0.0', HostPort: '8080' }] });
});

test('connect joins a running container at the next interface and re-aims its ports; disconnect leaves before the ports move', async (t) => {
  const e = await startEngine(t);
  await e.networks.create({ Name: 'red', IPAM: { Config: [{ Subnet: '10.1.1.0/24' }] } });
  const { id } = await e.containers.create('web', WEB);
  const short = id.slice(0, 12);
  await e.containers.start(id);
  assert.deepEqual(await during(e, () => e.containers.connect('red', 'web', {})), [
    'driver.join red eth1 10.1.1.2/24',
    'ports.hairpin veth0000001',
    `ports.setRules ${short} 0.0.0.0:8080->172.17.0.2:80`,
  ]);
  assert.deepEqual(addressesOf(e, 'red'), ['10.1.1.2']);
  await assert.rejects(e.containers.connect('red', 'web', {}), /endpoint with name web already exists in network red/);

  // Leaving the network that publishes: the same host port now leads to the endpoint on red.
  assert.deepEqual(await during(e, () => e.containers.disconnect('bridge', 'web', false)), [
    'driver.leave bridge eth0',
    'ports.hairpin veth0000002',
    `ports.setRules ${short} 0.0.0.0:8080->10.1.1.2:80`,
  ]);
  assert.deepEqual(addressesOf(e, 'bridge'), []);
  // No endpoint left to publish on: the rules go, the host port stays held for the container.
  assert.deepEqual(await during(e, () => e.containers.disconnect('red', 'web', false)), ['driver.leave red eth1', `ports.setRules ${short} -`]);
  assert.deepEqual(addressesOf(e, 'red'), []);
  assert.deepEqual(e.host.held.get(id), ['0.0.0.0:8080/tcp']);
  await assert.rejects(e.containers.disconnect('red', 'web', false), /is not connected to network red/);
});

test('connect and disconnect of a stopped container touch no kernel; its next start joins every network in order', async (t) => {
  const e = await startEngine(t);
  await e.networks.create({ Name: 'red', IPAM: { Config: [{ Subnet: '10.1.1.0/24' }] } });
  await e.networks.create({ Name: 'blue', IPAM: { Config: [{ Subnet: '10.1.2.0/24' }] } });
  const { id } = await e.containers.create('c1', { Image: 'busybox' });
  assert.deepEqual(await during(e, () => e.containers.connect('red', 'c1', { IPAMConfig: { IPv4Address: '10.1.1.9' } })), []);
  assert.deepEqual(await during(e, () => e.containers.connect('blue', 'c1', {})), []);
  assert.deepEqual(await during(e, () => e.containers.disconnect('blue', 'c1', false)), []);
  const steps = await during(e, () => e.containers.start(id));
  assert.deepEqual(steps.filter((s) => s.startsWith('driver.')), ['driver.join bridge eth0 172.17.0.2/16 gw', 'driver.join red eth1 10.1.1.9/24']);
  assert.deepEqual(addressesOf(e, 'blue'), []);
});

test('rm -f of a running container unpublishes, unplugs and forgets it', async (t) => {
  const e = await startEngine(t);
  const { id } = await e.containers.create('web', WEB);
  const short = id.slice(0, 12);
  await e.containers.start(id);
  const steps = await during(e, () => e.containers.remove('web', { force: true, volumes: false, link: false }));
  assert.deepEqual(steps, [
    `runtime.signal ${short} KILL`,
    `ports.release ${short}`,
    'runtime.unmountRootfs',
    `ports.setRules ${short} -`,
    'driver.leave bridge eth0',
    `netns.delete tst-c-${short}`,
    `runtime.delete ${short}`,
    'runtime.unmountRootfs',
  ]);
  assert.throws(() => e.containers.resolve(id), /No such container/);
  assert.deepEqual(addressesOf(e, 'bridge'), []);
  assert.equal(e.host.held.size + e.host.rules.size + e.host.namespaces.size, 0);
});

test("rm without force of a running or paused container is refused with Docker's text, naming it as the request did, and touches nothing", async (t) => {
  const e = await startEngine(t);
  const { id } = await e.containers.create('web', WEB);
  const short = id.slice(0, 12);
  await e.containers.start(id);
  const refused = async (term: string): Promise<string> => {
    const from = e.host.log.length;
    const msg = await e.containers.remove(term, { force: false, volumes: false, link: false }).then(() => 'removed', (err: Error) => err.message);
    assert.deepEqual(e.host.log.slice(from), [], `no kernel step for ${term}`);
    return msg;
  };
  const running = (as: string): string => `cannot remove container "${as}": container is running: stop the container before removing or force remove`;
  assert.equal(await refused('web'), running('web'));
  assert.equal(await refused('/web'), running('/web'));
  assert.equal(await refused(short), running(short));
  // The record as `docker pause` leaves it (the freezer itself is runc's, not the fake host's).
  const paused = (p: boolean): Promise<void> => e.containers.modify('web', async (rec) => void (rec.state = { ...rec.state, paused: p }));
  await paused(true);
  assert.equal(await refused('web'), 'cannot remove container "web": container is paused and must be unpaused first');
  await paused(false);
  assert.equal(await refused(id), running(id));
  assert.equal(status(e, id), 'running');
  assert.deepEqual(addressesOf(e, 'bridge'), ['172.17.0.2']);
});

test('after a daemon restart, a running container keeps its ports and its namespace is made to match its record', async (t) => {
  const e = await startEngine(t);
  await e.networks.create({ Name: 'red', IPAM: { Config: [{ Subnet: '10.1.1.0/24' }] } });
  await e.networks.create({ Name: 'blue', IPAM: { Config: [{ Subnet: '10.1.2.0/24' }] } });
  const { id } = await e.containers.create('web', { ...WEB, NetworkingConfig: { EndpointsConfig: { red: {}, blue: {} } } });
  const short = id.slice(0, 12);
  await e.containers.start(id);
  const ns = `tst-c-${short}`;
  assert.deepEqual([...(e.host.namespaces.get(ns) ?? [])], ['eth0', 'eth1', 'eth2']);
  // The daemon died during a disconnect from blue (eth2 gone, record not saved) and a connect (eth5 made, record not saved).
  e.host.namespaces.get(ns)?.delete('eth2');
  e.host.namespaces.get(ns)?.add('eth5');
  e.host.namespaces.set('tst-c-000000000000', new Set());

  const again = await restartEngine(e);
  const rec = again.containers.resolve(id);
  assert.equal(rec.state.status, 'running');
  assert.deepEqual(Object.keys(rec.endpoints).sort(), ['bridge', 'red']);
  assert.deepEqual([...(again.host.namespaces.get(ns) ?? [])].sort(), ['eth0', 'eth1']);
  assert.equal(again.host.namespaces.has('tst-c-000000000000'), false);
  assert.deepEqual(addressesOf(again, 'blue'), []);
  assert.deepEqual(addressesOf(again, 'red'), ['10.1.1.2']);
  // The DNAT rules survived in the kernel; the host-port sockets died with the old daemon and are taken again.
  const crash = again.host.log.indexOf('-- crash --');
  const after = again.host.log.slice(crash);
  assert.ok(after.includes(`ports.loadRules ${short} 1`));
  assert.ok(after.includes(`ports.reserve ${short} 0.0.0.0:8080/tcp`));
  assert.deepEqual(again.ports.portsOf(id), { '80/tcp': [{ HostIp: '0.0.0.0', HostPort: '8080' }] });

  // The re-adopted container is followed: its exit cleans up as before the restart.
  again.host.exit(id, 3);
  await until(() => status(again, id) === 'exited', 'the exit to be handled');
  assert.equal(again.containers.resolve(id).state.exitCode, 3);
  assert.equal(again.host.held.size + again.host.rules.size + again.host.namespaces.size, 0);
  assert.deepEqual([...addressesOf(again, 'bridge'), ...addressesOf(again, 'red')], []);
});

test('a container that exited while the daemon was down is cleaned up at the restart', async (t) => {
  const e = await startEngine(t);
  const { id } = await e.containers.create('web', WEB);
  await e.containers.start(id);
  e.host.crash();
  e.host.exit(id, 0);
  const again = await restartEngine(e);
  const rec = again.containers.resolve(id);
  assert.equal(rec.state.status, 'exited');
  assert.equal(rec.state.exitCode, 0);
  assert.equal(again.host.held.size + again.host.rules.size + again.host.namespaces.size, 0);
  assert.deepEqual(addressesOf(again, 'bridge'), []);
  assert.equal(again.ports.portsOf(id), undefined);
});

test("kill reads signals as dockerd: any case, with or without SIG, numbers 1-64; anything else is Docker's 400", async (t) => {
  const e = await startEngine(t);
  e.host.ignoreTerm = true;
  const { id } = await e.containers.create('sig', { Image: 'busybox' });
  await e.containers.start(id);
  const short = id.slice(0, 12);
  for (const bad of ['NOPE', '0', '65', 'SIG', 'term;rm']) {
    await assert.rejects(e.containers.kill(id, bad), (err: Error & { kind?: string }) => err.message === `Invalid signal: ${bad}` && err.kind === 'invalid-parameter', bad);
  }
  assert.deepEqual(await during(e, () => e.containers.kill(id, 'sigterm')), [`runtime.signal ${short} TERM`]);
  assert.deepEqual(await during(e, () => e.containers.kill(id, 'Usr1')), [`runtime.signal ${short} USR1`]);
  assert.deepEqual(await during(e, () => e.containers.kill(id, 'RTMIN+3')), [`runtime.signal ${short} RTMIN+3`]);
  assert.equal(status(e, id), 'running');
});

test('an endpoint its driver lost at restore (its address taken by another host meanwhile) is disconnected: interface, addresses, record and a disconnect event; later losses too', async (t) => {
  const e = await startEngine(t);
  const red = (await e.networks.create({ Name: 'red', IPAM: { Config: [{ Subnet: '10.1.1.0/24' }] } })).id;
  const blue = (await e.networks.create({ Name: 'blue', IPAM: { Config: [{ Subnet: '10.1.2.0/24' }] } })).id;
  const { id } = await e.containers.create('web', { Image: 'busybox', NetworkingConfig: { EndpointsConfig: { red: {}, blue: {} } } });
  await e.containers.start(id);
  const ns = `tst-c-${id.slice(0, 12)}`;
  const before = e.containers.resolve(id).endpoints;
  const reason = 'address 10.1.1.2 was claimed by another host while this engine was away (its lease expired)';
  // One endpoint the container holds, one nobody holds (its container ended meanwhile): only the first is acted on.
  e.host.lostAtRestore = [
    { networkId: red, endpointId: before.red!.endpointId, reason },
    { networkId: red, endpointId: 'f'.repeat(64), reason },
  ];
  const again = await restartEngine(e);
  const rec = again.containers.resolve(id);
  assert.equal(rec.state.status, 'running');
  assert.deepEqual(Object.keys(rec.endpoints).sort(), ['blue', 'bridge']);
  assert.deepEqual([...(again.host.namespaces.get(ns) ?? [])].sort(), [before.blue!.ifname, before.bridge!.ifname].sort());
  assert.deepEqual(addressesOf(again, 'red'), []);
  assert.deepEqual(addressesOf(again, 'blue'), ['10.1.2.2']);
  const crash = again.host.log.indexOf('-- crash --');
  assert.deepEqual(again.host.log.slice(crash).filter((l) => l.startsWith('driver.leave')), [`driver.leave red ${before.red!.ifname}`]);
  const events = again.bus.replay(0).filter((ev) => ev.Type === 'network');
  assert.deepEqual(events.map((ev) => [ev.Action, ev.Actor.ID, ev.Actor.Attributes.container, ev.Actor.Attributes.name]), [['disconnect', red, id, 'red']]);

  // A loss found after start (a global driver's restore when the cluster store appears) is handled at once.
  again.host.lostAtRestore = [{ networkId: blue, endpointId: rec.endpoints.blue!.endpointId, reason }];
  await again.networks.restoreDriver('bridge');
  assert.deepEqual(Object.keys(again.containers.resolve(id).endpoints), ['bridge']);
  assert.deepEqual([...(again.host.namespaces.get(ns) ?? [])], [before.bridge!.ifname]);
  assert.deepEqual(addressesOf(again, 'blue'), []);
  assert.equal(again.bus.replay(0).filter((ev) => ev.Type === 'network' && ev.Action === 'disconnect').length, 2);
});

test('an endpoint its driver loses while the engine runs (lease lost, address taken meanwhile) is disconnected the same way, with one disconnect event', async (t) => {
  const e = await startEngine(t);
  const red = (await e.networks.create({ Name: 'red', IPAM: { Config: [{ Subnet: '10.1.1.0/24' }] } })).id;
  await e.networks.create({ Name: 'blue', IPAM: { Config: [{ Subnet: '10.1.2.0/24' }] } });
  const { id } = await e.containers.create('web', { Image: 'busybox', NetworkingConfig: { EndpointsConfig: { red: {}, blue: {} } } });
  await e.containers.start(id);
  const before = e.containers.resolve(id).endpoints;
  assert.ok(e.host.reportLost, 'the engine gave the driver a sink at init');
  await e.host.reportLost([{ networkId: red, endpointId: before.red!.endpointId, reason: "address 10.1.1.2 was claimed by another host while this engine's lease was lost" }]);
  const rec = e.containers.resolve(id);
  assert.equal(rec.state.status, 'running');
  assert.deepEqual(Object.keys(rec.endpoints).sort(), ['blue', 'bridge']);
  assert.deepEqual([...(e.host.namespaces.get(`tst-c-${id.slice(0, 12)}`) ?? [])].sort(), [before.blue!.ifname, before.bridge!.ifname].sort());
  assert.deepEqual(addressesOf(e, 'red'), []);
  const events = e.bus.replay(0).filter((ev) => ev.Type === 'network' && ev.Action === 'disconnect');
  assert.deepEqual(events.map((ev) => [ev.Actor.ID, ev.Actor.Attributes.container]), [[red, id]]);
});

test('stop while the restart policy is starting the container again: stop waits for that start, then the container is stopped and stays down', async (t) => {
  // Under load `docker stop` of an `--restart always` container often lands while the policy's
  // start holds the lock: the stop saw `restarting`, found nothing to cancel once it got the lock,
  // and returned with the container running (and restarted again at its next exit).
  const e = await startEngine(t);
  const { id } = await e.containers.create('alw', { Image: 'busybox', HostConfig: { RestartPolicy: { Name: 'always' } } });
  await e.containers.start(id);
  const start = e.host.runtime.start;
  let release = (): void => undefined;
  const gate = new Promise<void>((r) => (release = r));
  let starts = 0;
  e.host.runtime.start = async (cid) => {
    starts++;
    await gate;
    return start(cid);
  };
  e.host.exit(id, 0);
  await until(() => starts === 1, 'the policy to start it again');
  assert.equal(status(e, id), 'restarting');
  const stopped = e.containers.stop('alw', { timeout: 1 });
  await new Promise((r) => setTimeout(r, 20)); // the stop waits behind the start
  release();
  assert.equal(await stopped, true);
  assert.equal(status(e, id), 'exited');
  await new Promise((r) => setTimeout(r, 300)); // longer than the policy's first back-off (100 ms)
  assert.equal(status(e, id), 'exited');
  assert.equal(starts, 1);
  assert.equal(e.containers.resolve(id).state.manuallyStopped, true);
});
