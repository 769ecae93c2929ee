// Containers end to end, the basics: docker run on the default bridge (inspect, the veth on docker0,
// the container's own netns read with `ip -json -n`), exit codes, output streams, stdin, logs,
// pseudo-terminals, exec, wait, attach, create/start and rename. One sandbox for the file; the
// tests run in order and c1 (made by the first) is used by later ones.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { pidInNetns } from '../../src/kernel/netns.js';
import { startSandbox, type Sandbox } from '../helpers/sandbox.js';
import {
  containerNetns, dockerTty, hostPeerOf, inspectContainer, ipIn, lines, runDetached, v4ByLink, type IpRoute,
} from '../helpers/containers.js';
import { containerReaches } from '../helpers/reach.js';

let sb: Sandbox;
before(async () => {
  sb = await startSandbox(undefined, { prefix: 'ctr' });
});
after(() => sb?.down());

const T = { timeoutMs: 20_000 };
let c1 = '';

test('docker run -d on the default bridge: inspect, docker ps, veth on docker0, the netns inside', async () => {
  c1 = await runDetached(sb, ['--name', 'c1', 'busybox', 'sleep', '3600']);
  const c = await inspectContainer(sb, 'c1');
  assert.equal(c.Id, c1);
  assert.equal(c.Name, '/c1');
  assert.equal(c.State.Status, 'running');
  assert.equal(c.State.Running, true);
  assert.ok(c.State.Pid > 0, `Pid ${c.State.Pid}`);
  assert.equal(c.HostConfig.NetworkMode, 'bridge');
  const ns = containerNetns(sb, c1);
  assert.equal(c.NetworkSettings.SandboxKey, `/run/netns/${ns}`);
  assert.ok(await pidInNetns(c.State.Pid, ns), `pid ${c.State.Pid} lives in netns ${ns}`);

  const ns1 = c.NetworkSettings;
  assert.deepEqual(
    { ip: ns1.IPAddress, gw: ns1.Gateway, len: ns1.IPPrefixLen, mac: ns1.MacAddress },
    { ip: '172.17.0.2', gw: '172.17.0.1', len: 16, mac: '02:42:ac:11:00:02' },
  );
  assert.deepEqual(Object.keys(ns1.Networks), ['bridge']);
  const ep = ns1.Networks.bridge;
  assert.ok(ep);
  const bridgeId = (await sb.docker(['network', 'inspect', '-f', '{{.Id}}', 'bridge'])).stdout.trim();
  assert.equal(ep.NetworkID, bridgeId);
  assert.match(ep.EndpointID, /^[0-9a-f]{64}$/);
  assert.deepEqual(
    { ip: ep.IPAddress, gw: ep.Gateway, len: ep.IPPrefixLen, mac: ep.MacAddress },
    { ip: '172.17.0.2', gw: '172.17.0.1', len: 16, mac: '02:42:ac:11:00:02' },
  );

  const ps = lines((await sb.docker(['ps', '--format', '{{.ID}} {{.Names}} {{.Status}}'])).stdout);
  assert.equal(ps.length, 1);
  assert.match(ps[0] ?? '', new RegExp(`^${c1.slice(0, 12)} c1 Up `));
  const ip = await sb.docker(['inspect', '-f', '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}', 'c1']);
  assert.equal(ip.stdout, '172.17.0.2\n');

  // Kernel: one veth on docker0, UP, whose peer is eth0 in the container's netns.
  const onBridge = await sb.ipJson(['link', 'show', 'master', 'docker0']);
  assert.equal(onBridge.length, 1, JSON.stringify(onBridge));
  assert.match(onBridge[0]?.ifname ?? '', /^veth[0-9a-f]{7}$/);
  assert.ok(onBridge[0]?.flags.includes('UP'));
  assert.equal((await hostPeerOf(sb, ns, 'eth0'))?.ifname, onBridge[0]?.ifname);
  const inside = await ipIn(ns, ['addr', 'show']);
  assert.deepEqual(v4ByLink(inside), { lo: ['127.0.0.1/8'], eth0: ['172.17.0.2/16'] });
  assert.equal(inside.find((l) => l.ifname === 'eth0')?.address, '02:42:ac:11:00:02');
  const routes = await ipIn<IpRoute[]>(ns, ['route', 'show']);
  assert.ok(routes.some((r) => r.dst === 'default' && r.gateway === '172.17.0.1' && r.dev === 'eth0'), JSON.stringify(routes));

  // The same seen from inside with busybox.
  const addr = (await sb.docker(['exec', 'c1', 'ip', 'addr'], T)).stdout;
  assert.match(addr, /: lo: <LOOPBACK,UP[^>]*>[^]*inet 127\.0\.0\.1\/8 scope host lo/);
  assert.match(addr, /: eth0@if\d+: <BROADCAST,MULTICAST,UP,LOWER_UP[^>]*>[^]*link\/ether 02:42:ac:11:00:02[^]*inet 172\.17\.0\.2\/16 /);
  assert.match((await sb.docker(['exec', 'c1', 'ip', 'route'], T)).stdout, /^default via 172\.17\.0\.1 dev eth0/m);
  assert.ok(await containerReaches(sb, 'c1', '172.17.0.1'), 'c1 → its gateway');
  assert.equal((await sb.docker(['exec', 'c1', 'hostname'], T)).stdout, `${c1.slice(0, 12)}\n`);
});

test('exit codes and output streams of docker run', async () => {
  const three = await sb.docker(['run', '--rm', 'busybox', 'sh', '-c', 'exit 3'], { ...T, allowFail: true });
  assert.equal(three.code, 3);
  const hi = await sb.docker(['run', '--rm', 'busybox', 'echo', 'hi'], T);
  assert.deepEqual([hi.code, hi.stdout, hi.stderr], [0, 'hi\n', '']);
  const split = await sb.docker(['run', '--name', 'split', 'busybox', 'sh', '-c', 'echo out; echo err >&2'], T);
  assert.deepEqual([split.stdout, split.stderr], ['out\n', 'err\n']);
  const data = await sb.docker(['run', '-i', '--rm', 'busybox', 'cat'], { ...T, input: 'data\n' });
  assert.equal(data.stdout, 'data\n');
  // --rm removed them; split stays, exited 0.
  const all = lines((await sb.docker(['ps', '-a', '--format', '{{.Names}} {{.Status}}'])).stdout).sort();
  assert.equal(all.length, 2, all.join('\n'));
  assert.match(all[0] ?? '', /^c1 Up /);
  assert.match(all[1] ?? '', /^split Exited \(0\) /);
});

test('docker logs: both streams, -t timestamps, --tail 1', async () => {
  const logs = await sb.docker(['logs', 'split'], T);
  assert.deepEqual([logs.stdout, logs.stderr], ['out\n', 'err\n']);
  const stamped = await sb.docker(['logs', '-t', 'split'], T);
  assert.match(stamped.stdout, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z out\n$/);
  assert.match(stamped.stderr, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z err\n$/);
  await sb.docker(['run', '--name', 'three', 'busybox', 'sh', '-c', 'echo one; echo two; echo three'], T);
  assert.equal((await sb.docker(['logs', 'three'], T)).stdout, 'one\ntwo\nthree\n');
  assert.equal((await sb.docker(['logs', '--tail', '1', 'three'], T)).stdout, 'three\n');
  const missing = await sb.docker(['logs', 'nosuch'], { allowFail: true });
  assert.deepEqual([missing.code, missing.stderr], [1, 'Error response from daemon: No such container: nosuch\n']);
});

test('pseudo-terminals: docker run -it and docker exec -it', async () => {
  const tty = await dockerTty(sb, ['run', '-it', '--rm', 'busybox', 'sh', '-c', 'tty']);
  assert.equal(tty.code, 0, tty.stdout + tty.stderr);
  assert.equal(tty.stdout, '/dev/pts/0\r\n');
  const size = await dockerTty(sb, ['exec', '-it', 'c1', 'sh', '-c', 'stty size'], { rows: 40, cols: 100 });
  assert.equal(size.code, 0, size.stdout + size.stderr);
  assert.equal(size.stdout, '40 100\r\n');
  const runSize = await dockerTty(sb, ['run', '-it', '--rm', 'busybox', 'stty', 'size'], { rows: 33, cols: 77 });
  assert.equal(runSize.stdout, '33 77\r\n');
  const noTty = await sb.docker(['exec', 'c1', 'tty'], { ...T, allowFail: true });
  assert.deepEqual([noTty.code, noTty.stdout], [1, 'not a tty\n']);
});

test('docker exec: exit codes, stdin, env, user, workdir, a stopped container', async () => {
  assert.equal((await sb.docker(['exec', 'c1', 'sh', '-c', 'exit 5'], { ...T, allowFail: true })).code, 5);
  assert.equal((await sb.docker(['exec', '-i', 'c1', 'cat'], { ...T, input: 'in\n' })).stdout, 'in\n');
  assert.equal((await sb.docker(['exec', '-e', 'X=1', 'c1', 'sh', '-c', 'echo $X'], T)).stdout, '1\n');
  assert.equal((await sb.docker(['exec', '-u', '65534', 'c1', 'id', '-u'], T)).stdout, '65534\n');
  assert.equal((await sb.docker(['exec', '-w', '/tmp', 'c1', 'pwd'], T)).stdout, '/tmp\n');
  const missing = await sb.docker(['exec', 'c1', 'nosuchprogram'], { ...T, allowFail: true });
  assert.equal(missing.code, 127, missing.stderr);
  const stopped = await sb.docker(['exec', 'split', 'true'], { ...T, allowFail: true });
  assert.equal(stopped.code, 1);
  assert.match(stopped.stderr, /^Error response from daemon: container [0-9a-f]{64} is not running\n$/);
  const none = await sb.docker(['exec', 'nosuch', 'true'], { ...T, allowFail: true });
  assert.deepEqual([none.code, none.stderr], [1, 'Error response from daemon: No such container: nosuch\n']);
});

test('docker wait, docker attach, docker create + start, docker rename', async () => {
  await runDetached(sb, ['--name', 'wt', 'busybox', 'sh', '-c', 'sleep 0.3; exit 4']);
  assert.equal((await sb.docker(['wait', 'wt'], T)).stdout, '4\n');
  assert.equal((await inspectContainer(sb, 'wt')).State.ExitCode, 4);

  await runDetached(sb, ['-i', '--name', 'att', 'busybox', 'sh', '-c', 'read x; echo got $x; exit 6']);
  const att = await sb.docker(['attach', 'att'], { ...T, input: 'hello\n', allowFail: true });
  assert.deepEqual([att.code, att.stdout], [6, 'got hello\n']);

  const created = (await sb.docker(['create', '--name', 'cr', 'busybox', 'sleep', '3600'])).stdout.trim();
  assert.match(created, /^[0-9a-f]{64}$/);
  const before = await inspectContainer(sb, 'cr');
  assert.deepEqual([before.State.Status, before.State.Running, before.State.Pid], ['created', false, 0]);
  assert.equal(before.NetworkSettings.IPAddress, '');
  assert.equal(before.NetworkSettings.Networks.bridge?.IPAddress, '');
  assert.equal(before.NetworkSettings.Networks.bridge?.EndpointID, '');
  assert.equal((await sb.docker(['start', 'cr'], T)).stdout, 'cr\n');
  const after = await inspectContainer(sb, 'cr');
  assert.equal(after.State.Status, 'running');
  assert.equal(after.NetworkSettings.IPAddress, '172.17.0.3');
  assert.deepEqual(v4ByLink(await ipIn(containerNetns(sb, created), ['addr', 'show'])), { lo: ['127.0.0.1/8'], eth0: ['172.17.0.3/16'] });
  // c1 and cr on docker0 reach each other.
  assert.ok(await containerReaches(sb, 'cr', '172.17.0.2'), 'cr → c1');

  assert.equal((await sb.docker(['rename', 'cr', 'cr2'], T)).code, 0);
  assert.equal((await inspectContainer(sb, created)).Name, '/cr2');
  const taken = await sb.docker(['rename', 'cr2', 'c1'], { ...T, allowFail: true });
  assert.equal(taken.code, 1);
  assert.equal(
    taken.stderr,
    `Error response from daemon: Error when allocating new name: Conflict. The container name "/c1" is already in use by container "${c1}". You have to remove (or rename) that container to be able to reuse that name.\n` +
      'Error: failed to rename container named cr2\n',
  );
  await sb.docker(['rm', '-f', 'cr2', 'wt', 'att', 'three'], T);
});
