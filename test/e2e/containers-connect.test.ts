// docker network connect / disconnect on running and created containers end to end (interfaces
// appearing and going in the container's netns, network inspect's Containers), and the errors the
// CLI must print with Docker 28's exact texts and exit codes. One sandbox for the file; the tests
// run in order and build on each other.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startSandbox, type Sandbox } from '../helpers/sandbox.js';
import { containerNetns, hostPeerOf, inspectContainer, ipIn, lines, runDetached, v4ByLink, type IpRoute } from '../helpers/containers.js';

let sb: Sandbox;
before(async () => {
  sb = await startSandbox(undefined, { prefix: 'ctc' });
});
after(() => sb?.down());

const T = { timeoutMs: 20_000 };
const ids = { c1: '', net1: '', hostc: '', shared: '' };
const HELP = "\n\nRun 'docker run --help' for more information\n";

interface NetContainer {
  Name: string;
  EndpointID: string;
  MacAddress: string;
  IPv4Address: string;
  IPv6Address: string;
}

async function netContainers(net: string): Promise<Record<string, NetContainer>> {
  return JSON.parse((await sb.docker(['network', 'inspect', '-f', '{{json .Containers}}', net])).stdout) as Record<string, NetContainer>;
}

/** Runs docker expecting failure: returns [exit code, stderr]. */
async function fails(args: string[]): Promise<[number, string]> {
  const r = await sb.docker(args, { ...T, allowFail: true });
  assert.notEqual(r.code, 0, `docker ${args.join(' ')} should fail:\n${r.stdout}`);
  return [r.code, r.stderr];
}

/**
 * `docker run` expecting failure: [exit code, stderr from its `docker: ` line]. On any 404 from
 * create, the CLI first prints "Unable to find image" and "pulls" (answered locally), then retries.
 */
async function runFails(args: string[]): Promise<[number, string]> {
  const [code, err] = await fails(['run', ...args]);
  const at = err.lastIndexOf('docker: ');
  return [code, at < 0 ? err : err.slice(at)];
}

test('connect a running container: eth1 appears, network inspect lists it', async () => {
  ids.c1 = await runDetached(sb, ['--name', 'c1', 'busybox', 'sleep', '3600']);
  ids.net1 = (await sb.docker(['network', 'create', 'red_prueba1', '--subnet', '10.1.1.0/24', '--gateway', '10.1.1.254'])).stdout.trim();
  const r = await sb.docker(['network', 'connect', 'red_prueba1', 'c1'], T);
  assert.deepEqual([r.code, r.stdout, r.stderr], [0, '', '']);

  const ns = containerNetns(sb, ids.c1);
  assert.deepEqual(v4ByLink(await ipIn(ns, ['addr', 'show'])), { lo: ['127.0.0.1/8'], eth0: ['172.17.0.2/16'], eth1: ['10.1.1.1/24'] });
  const routes = await ipIn<IpRoute[]>(ns, ['route', 'show']);
  assert.deepEqual(routes.filter((x) => x.dst === 'default').map((x) => `${x.gateway} ${x.dev}`), ['172.17.0.1 eth0'], 'the default route stays on eth0');
  assert.equal((await hostPeerOf(sb, ns, 'eth1'))?.master, `br-${ids.net1.slice(0, 12)}`);
  assert.match((await sb.docker(['exec', 'c1', 'ip', 'addr', 'show', 'eth1'], T)).stdout, /inet 10\.1\.1\.1\/24 /);

  const c = await inspectContainer(sb, 'c1');
  assert.deepEqual(Object.keys(c.NetworkSettings.Networks).sort(), ['bridge', 'red_prueba1']);
  const ep = c.NetworkSettings.Networks.red_prueba1;
  assert.ok(ep);
  assert.deepEqual([ep.IPAddress, ep.Gateway, ep.IPPrefixLen, ep.MacAddress, ep.NetworkID], ['10.1.1.1', '10.1.1.254', 24, '02:42:0a:01:01:01', ids.net1]);
  assert.equal(c.NetworkSettings.IPAddress, '172.17.0.2', 'the top-level address stays the bridge one');

  assert.deepEqual(await netContainers('red_prueba1'), {
    [ids.c1]: { Name: 'c1', EndpointID: ep.EndpointID, MacAddress: '02:42:0a:01:01:01', IPv4Address: '10.1.1.1/24', IPv6Address: '' },
  });
  assert.deepEqual(await netContainers('bridge'), {
    [ids.c1]: {
      Name: 'c1', EndpointID: c.NetworkSettings.Networks.bridge?.EndpointID, MacAddress: '02:42:ac:11:00:02', IPv4Address: '172.17.0.2/16', IPv6Address: '',
    },
  });
  const filtered = lines((await sb.docker(['ps', '--filter', 'network=red_prueba1', '--format', '{{.Names}}'])).stdout);
  assert.deepEqual(filtered, ['c1']);
});

test('connect twice, network rm in use: Docker\'s errors', async () => {
  assert.deepEqual(await fails(['network', 'connect', 'red_prueba1', 'c1']), [
    1, 'Error response from daemon: endpoint with name c1 already exists in network red_prueba1\n',
  ]);
  const ep = (await netContainers('red_prueba1'))[ids.c1]?.EndpointID ?? '';
  assert.deepEqual(await fails(['network', 'rm', 'red_prueba1']), [
    // The CLI adds its own "exit status 1" line after network rm failures.
    1, `Error response from daemon: error while removing network: network red_prueba1 has active endpoints (name:"c1" id:"${ep.slice(0, 12)}")\nexit status 1\n`,
  ]);
});

test('disconnect: eth1 goes, network inspect empties; disconnecting again fails', async () => {
  const r = await sb.docker(['network', 'disconnect', 'red_prueba1', 'c1'], T);
  assert.deepEqual([r.code, r.stdout, r.stderr], [0, '', '']);
  const ns = containerNetns(sb, ids.c1);
  assert.deepEqual(v4ByLink(await ipIn(ns, ['addr', 'show'])), { lo: ['127.0.0.1/8'], eth0: ['172.17.0.2/16'] });
  assert.deepEqual(await sb.ipJson(['link', 'show', 'master', `br-${ids.net1.slice(0, 12)}`]), []);
  assert.deepEqual(await netContainers('red_prueba1'), {});
  assert.deepEqual(Object.keys((await inspectContainer(sb, 'c1')).NetworkSettings.Networks), ['bridge']);
  assert.deepEqual(await fails(['network', 'disconnect', 'red_prueba1', 'c1']), [
    1, `Error response from daemon: container ${ids.c1} is not connected to network red_prueba1\n`,
  ]);
});

test('connect with --ip and --alias; the address is released on disconnect', async () => {
  await sb.docker(['network', 'connect', '--ip', '10.1.1.50', '--alias', 'db', 'red_prueba1', 'c1'], T);
  const ep = (await inspectContainer(sb, 'c1')).NetworkSettings.Networks.red_prueba1;
  assert.deepEqual([ep?.IPAddress, ep?.IPAMConfig, ep?.Aliases], ['10.1.1.50', { IPv4Address: '10.1.1.50' }, ['db']]);
  assert.deepEqual(v4ByLink(await ipIn(containerNetns(sb, ids.c1), ['addr', 'show'])).eth1, ['10.1.1.50/24']);
  await sb.docker(['network', 'disconnect', 'red_prueba1', 'c1'], T);
  // 10.1.1.50 is free again: another container can take it.
  await runDetached(sb, ['--name', 'taker', '--network', 'red_prueba1', '--ip', '10.1.1.50', 'busybox', 'sleep', '3600']);
  assert.equal((await inspectContainer(sb, 'taker')).NetworkSettings.Networks.red_prueba1?.IPAddress, '10.1.1.50');
  assert.deepEqual(await fails(['network', 'connect', '--ip', '10.1.1.50', 'red_prueba1', 'c1']), [1, 'Error response from daemon: Address already in use\n']);
  assert.deepEqual(Object.keys((await inspectContainer(sb, 'c1')).NetworkSettings.Networks), ['bridge'], 'a failed connect leaves nothing');
  assert.deepEqual(Object.keys(v4ByLink(await ipIn(containerNetns(sb, ids.c1), ['addr', 'show']))), ['lo', 'eth0']);
  await sb.docker(['rm', '-f', 'taker'], T);
});

test('connect a created container: the interfaces come with start', async () => {
  const id = (await sb.docker(['create', '--name', 'cr', '--network', 'red_prueba1', 'busybox', 'sleep', '3600'])).stdout.trim();
  await sb.docker(['network', 'connect', 'bridge', 'cr'], T);
  const before = await inspectContainer(sb, 'cr');
  assert.deepEqual(Object.keys(before.NetworkSettings.Networks).sort(), ['bridge', 'red_prueba1']);
  assert.equal(before.NetworkSettings.Networks.bridge?.IPAddress, '');
  await sb.docker(['start', 'cr'], T);
  const addrs = v4ByLink(await ipIn(containerNetns(sb, id), ['addr', 'show']));
  assert.deepEqual(Object.values(addrs).flat().sort(), ['10.1.1.1/24', '127.0.0.1/8', '172.17.0.3/16']);
  await sb.docker(['network', 'disconnect', 'bridge', 'cr'], T);
  assert.deepEqual(Object.values(v4ByLink(await ipIn(containerNetns(sb, id), ['addr', 'show']))).flat().sort(), ['10.1.1.1/24', '127.0.0.1/8']);
  await sb.docker(['rm', '-f', 'cr'], T);
});

test('host and container: network modes cannot connect', async () => {
  ids.hostc = await runDetached(sb, ['--name', 'hostc', '--net=host', 'busybox', 'sleep', '3600']);
  ids.shared = await runDetached(sb, ['--name', 'shared', '--net=container:c1', 'busybox', 'sleep', '3600']);
  // Docker 28 answers a host-mode container with the shared-namespace text.
  assert.deepEqual(await fails(['network', 'connect', 'red_prueba1', 'hostc']), [
    1, 'Error response from daemon: container sharing network namespace with another container or host cannot be connected to any other network\n',
  ]);
  assert.deepEqual(await fails(['network', 'connect', 'red_prueba1', 'shared']), [
    1, 'Error response from daemon: container sharing network namespace with another container or host cannot be connected to any other network\n',
  ]);
  assert.deepEqual(await fails(['network', 'connect', 'host', 'c1']), [
    1, 'Error response from daemon: container cannot be disconnected from host network or connected to host network\n',
  ]);
  assert.deepEqual(await fails(['network', 'disconnect', 'host', 'hostc']), [
    1, 'Error response from daemon: container cannot be disconnected from host network or connected to host network\n',
  ]);
  await sb.docker(['rm', '-f', 'hostc', 'shared'], T);
});

test('docker run errors: --ip / --network-alias on the default bridge, -p with container:, conflicts', async () => {
  // Every case is run, then all are compared at once, so one failure does not hide the others.
  const cases: Array<[string[], string]> = [
    [['--ip', '172.17.0.50', 'busybox', 'true'],
      'invalid config for network bridge: invalid endpoint settings:\nuser specified IP address is supported on user defined networks only'],
    [['-p', '80:80', '--net=container:c1', 'busybox', 'true'], 'conflicting options: port publishing and the container type network mode'],
    [['--network', 'nosuchnet', 'busybox', 'true'], 'network nosuchnet not found'],
    [['-d', '--name', 'c1', 'busybox', 'true'],
      `Conflict. The container name "/c1" is already in use by container "${ids.c1}". You have to remove (or rename) that container to be able to reuse that name.`],
  ];
  const got: Array<[number, string]> = [];
  for (const [args] of cases) got.push(await runFails(args));
  assert.deepEqual(got, cases.map(([, msg]) => [125, `docker: Error response from daemon: ${msg}${HELP}`]));
  // The CLI itself refuses an alias on a non-user network.
  assert.deepEqual(await runFails(['--network-alias', 'x', 'busybox', 'true']), [125, `docker: network-scoped aliases are only supported for user-defined networks${HELP}`]);

  const [code, err] = await fails(['run', 'nosuch']);
  assert.equal(code, 125);
  // The daemon asks Docker Hub, which the sandbox's world DNS does not know: Docker's offline text.
  assert.match(err, /^Unable to find image 'nosuch:latest' locally\ndocker: Error response from daemon: Get "https:\/\/registry-1\.docker\.io\/v2\/": lookup registry-1\.docker\.io: no such host/);
  // None of those left a container behind.
  assert.deepEqual(lines((await sb.docker(['ps', '-a', '--format', '{{.Names}}'])).stdout), ['c1']);
  // Docker creates this one and fails its start (the container stays); failing the create is fine too.
  assert.deepEqual(await runFails(['--name', 'ghost', '--net=container:nosuch', 'busybox', 'true']), [
    125, `docker: Error response from daemon: No such container: nosuch${HELP}`,
  ]);
  await sb.docker(['rm', '-f', 'ghost'], T);
});

test('network connect to the default bridge with --ip or --alias: Docker\'s errors', async () => {
  await runDetached(sb, ['--name', 'u1', '--network', 'red_prueba1', 'busybox', 'sleep', '3600']);
  const got = [
    await fails(['network', 'connect', '--ip', '172.17.0.50', 'bridge', 'u1']),
    await fails(['network', 'connect', '--alias', 'x', 'bridge', 'u1']),
  ];
  assert.deepEqual(got, [
    [1, 'Error response from daemon: invalid endpoint settings:\nuser specified IP address is supported on user defined networks only\n'],
    [1, 'Error response from daemon: invalid endpoint settings:\nnetwork-scoped alias is supported only for containers in user defined networks\n'],
  ]);
  assert.deepEqual(Object.keys((await inspectContainer(sb, 'u1')).NetworkSettings.Networks), ['red_prueba1']);
  await sb.docker(['rm', '-f', 'u1'], T);
});

test('No such container / network for every verb', async () => {
  const nsc = 'Error response from daemon: No such container: nosuch\n';
  for (const verb of [['stop'], ['restart'], ['rm'], ['wait'], ['exec', '--', 'nosuch', 'true'], ['rename', 'nosuch', 'xx'], ['logs']]) {
    const args = verb.length > 1 ? verb : [...verb, 'nosuch'];
    const [code, err] = await fails(args);
    assert.equal(code, 1, args.join(' '));
    assert.equal(err.split('\n')[0] + '\n', nsc, args.join(' '));
  }
  // Docker's kill route prefixes every error.
  assert.deepEqual(await fails(['kill', 'nosuch']), [1, 'Error response from daemon: cannot kill container: nosuch: No such container: nosuch\n']);
  assert.deepEqual(await fails(['network', 'connect', 'red_prueba1', 'nosuch']), [1, nsc]);
  assert.deepEqual(await fails(['network', 'connect', 'nosuchnet', 'c1']), [1, 'Error response from daemon: network nosuchnet not found\n']);
  const forced = await sb.docker(['rm', '-f', 'nosuch'], T);
  assert.deepEqual([forced.code, forced.stderr], [0, nsc]);
});
