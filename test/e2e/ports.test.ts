// Published ports end to end: every `-p` form, inspect / `docker port` output, conflicts, reach from
// the world, the host (its address and 127.0.0.1), another container and the container itself
// (hairpin); the 127.0.0.1 guard (CVE-2020-8558), DROP DIRECT ACCESS, ICC off, internal networks,
// kill -9 + restart, and `nft flush ruleset` + `redes firewall reload`. One sandbox for the file; the
// tests run in order and build on each other.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { REDES_BIN, startSandbox, type Sandbox } from '../helpers/sandbox.js';
import { containerNetns, inspectContainer, runDetached, waitFor } from '../helpers/containers.js';
import { run } from '../../src/kernel/run.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { containerReaches } from '../helpers/reach.js';

let sb: Sandbox;
before(async () => {
  sb = await startSandbox(undefined, { prefix: 'prt' });
});
after(() => sb?.down());

const HOST = '203.0.113.2';
const T = { timeoutMs: 20_000 };
const HTTPD = ['sh', '-c', 'mkdir -p /www && echo hi-$HOSTNAME > /www/index.html && exec httpd -f -p 80 -h /www'];

const wgetArgv = (url: string): string[] => ['timeout', '3', 'busybox', 'wget', '-q', '-O', '-', url];
async function fromWorld(url: string): Promise<string | undefined> {
  const r = await sb.world(wgetArgv(url), { allowFail: true });
  return r.code === 0 ? r.stdout.trim() : undefined;
}
async function fromHost(url: string): Promise<string | undefined> {
  const r = await sb.exec(wgetArgv(url), { allowFail: true });
  return r.code === 0 ? r.stdout.trim() : undefined;
}
async function fromContainer(name: string, url: string): Promise<string | undefined> {
  const r = await sb.docker(['exec', name, ...wgetArgv(url)], { allowFail: true, timeoutMs: 15_000 });
  return r.code === 0 ? r.stdout.trim() : undefined;
}
/** Waits until the server answers through `probe` (a container's httpd starts a little after run). */
const served = (probe: () => Promise<string | undefined>): Promise<string> => waitFor('an answer', async () => (await probe()) ?? false, 8_000);

let webIp = '';

/** Exit code of a host `nc -l` on port for 1 s: 124 = it could listen, 1 = the port is taken. */
const hostListenCode = async (port: number): Promise<number> =>
  (await sb.exec(['timeout', '1', 'busybox', 'nc', '-l', '-p', String(port)], { allowFail: true })).code;

test('-p 8080:80 and 127.0.0.1:8081:80: reachable from the world, the host, 127.0.0.1, a container and itself', async () => {
  await runDetached(sb, ['--name', 'web', '--hostname', 'web', '-p', '8080:80', '-p', '127.0.0.1:8081:80', 'busybox', ...HTTPD]);
  webIp = (await inspectContainer(sb, 'web')).NetworkSettings.IPAddress;
  assert.equal(await served(() => fromWorld(`http://${HOST}:8080/`)), 'hi-web');
  assert.equal(await fromHost(`http://${HOST}:8080/`), 'hi-web');
  assert.equal(await fromHost('http://127.0.0.1:8080/'), 'hi-web');
  assert.equal(await fromHost('http://127.0.0.1:8081/'), 'hi-web');
  await runDetached(sb, ['--name', 'client', 'busybox', 'sleep', '3600']);
  assert.equal(await fromContainer('client', `http://${HOST}:8080/`), 'hi-web');
  assert.equal(await fromContainer('web', `http://${HOST}:8080/`), 'hi-web', 'hairpin');
});

test('127.0.0.1 bindings are not reachable from the world, even with a route to 127.0.0.1 via the host', async () => {
  assert.equal(await fromWorld(`http://${HOST}:8081/`), undefined);
  await sb.world(['ip', 'route', 'add', '127.0.0.2/32', 'via', HOST]);
  await sb.world(['sysctl', '-qw', 'net.ipv4.conf.all.route_localnet=1']);
  const r = await sb.world(['timeout', '3', 'busybox', 'nc', '-w', '2', '127.0.0.2', '8081'], { allowFail: true, input: 'GET / HTTP/1.0\r\n\r\n' });
  assert.doesNotMatch(r.stdout, /hi-web/);
});

test('the world cannot reach a container port directly, even with a route to the subnet', async () => {
  await sb.world(['ip', 'route', 'add', '172.17.0.0/16', 'via', HOST]);
  assert.equal(await fromWorld(`http://${webIp}:80/`), undefined);
  assert.equal(await fromWorld(`http://${HOST}:8080/`), 'hi-web', 'published port still works');
});

test('inspect, docker port and docker ps show the bindings as Docker does', async () => {
  const c = await inspectContainer(sb, 'web');
  const ports = (c.NetworkSettings as unknown as { Ports: Record<string, unknown> }).Ports;
  assert.deepEqual(ports['80/tcp'], [{ HostIp: '0.0.0.0', HostPort: '8080' }, { HostIp: '127.0.0.1', HostPort: '8081' }]);
  const port = await sb.docker(['port', 'web']);
  assert.deepEqual(port.stdout.trim().split('\n'), ['80/tcp -> 0.0.0.0:8080', '80/tcp -> 127.0.0.1:8081']);
  const ps = await sb.docker(['ps', '--filter', 'name=web', '--format', '{{.Ports}}']);
  assert.match(ps.stdout, /0\.0\.0\.0:8080->80\/tcp/);
  assert.match(ps.stdout, /127\.0\.0\.1:8081->80\/tcp/);
});

test('a taken host port is refused with Docker\'s text; random ports come from ip_local_port_range', async () => {
  const r = await sb.docker(['run', '-d', '--name', 'web2', '-p', '8080:80', 'busybox', ...HTTPD], { allowFail: true, ...T });
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /Bind for 0\.0\.0\.0:8080 failed: port is already allocated/);
  await sb.docker(['rm', '-f', 'web2'], T);
  const [lo, hi] = (await sb.exec(['cat', '/proc/sys/net/ipv4/ip_local_port_range'])).stdout.trim().split(/\s+/).map(Number) as [number, number];
  await runDetached(sb, ['--name', 'rnd', '--hostname', 'rnd', '-p', '80', '-p', '127.0.0.1::80', '--expose', '90', 'busybox', ...HTTPD]);
  const out = (await sb.docker(['port', 'rnd', '80/tcp'])).stdout.trim().split('\n');
  assert.equal(out.length, 2, out.join('\n'));
  const hostPort = Number(out[0]?.split(':').pop());
  assert.ok(hostPort >= lo && hostPort <= hi, `${hostPort} in ${lo}-${hi}`);
  assert.equal(await served(() => fromWorld(`http://${HOST}:${hostPort}/`)), 'hi-rnd');
  const c = await inspectContainer(sb, 'rnd');
  assert.equal((c.NetworkSettings as unknown as { Ports: Record<string, unknown> }).Ports['90/tcp'], null);
});

test('UDP and a port range are published', async () => {
  // busybox here has no UDP server (nc lacks -u): a node listener runs in the container's netns.
  const id = await runDetached(sb, ['--name', 'udp', '-p', '5353:53/udp', 'busybox', 'sleep', '3600']);
  const script = "const s=require('dgram').createSocket('udp4');s.on('message',(m)=>{process.stdout.write(String(m));process.exit(0)});s.bind(53);setTimeout(()=>process.exit(1),8000)";
  const listener = run(['nsenter', `--net=/run/netns/${containerNetns(sb, id)}`, process.execPath, '-e', script], { allowFailure: true, timeoutMs: 10_000 });
  let done = false;
  void listener.finally(() => { done = true; });
  while (!done) {
    await sb.world(['bash', '-c', `echo ping-udp > /dev/udp/${HOST}/5353`], { allowFail: true });
    await sleep(200);
  }
  assert.match((await listener).stdout, /ping-udp/);
  await runDetached(sb, ['--name', 'range', '-p', '30000-30009:30000-30009', 'busybox', 'sleep', '3600']);
  const lines = (await sb.docker(['port', 'range'])).stdout.trim().split('\n');
  assert.equal(lines.length, 10);
  assert.ok(lines.includes('30009/tcp -> 0.0.0.0:30009'), lines.join('\n'));
});

test('after kill -9 and a restart the same host ports work; nft flush ruleset + redes firewall reload restores them', async () => {
  await sb.kill9Daemon();
  await sb.restartDaemon();
  assert.equal(await served(() => fromWorld(`http://${HOST}:8080/`)), 'hi-web');
  assert.equal(await hostListenCode(8080), 1, 'the restarted daemon holds the restored port again');
  const before = JSON.stringify(await sb.nftJson());
  await sb.exec(['nft', 'flush', 'ruleset']);
  assert.equal(await fromWorld(`http://${HOST}:8080/`), undefined);
  const r = await sb.exec([REDES_BIN, 'firewall', 'reload', '--host', sb.dockerHost]);
  assert.match(r.stdout, /reloaded: \d+ networks, \d+ published ports/);
  assert.equal(await served(() => fromWorld(`http://${HOST}:8080/`)), 'hi-web');
  await sb.exec([REDES_BIN, 'firewall', 'reload', '--host', sb.dockerHost]);
  const normalise = (s: string): string => s.replace(/"handle": \d+/g, '').replace(/"version": "[^"]*"/, '');
  assert.equal(normalise(JSON.stringify(await sb.nftJson())).length, normalise(before).length, 'no duplicate rules');
});

test('stopping a container releases its port for another', async () => {
  await sb.docker(['rm', '-f', 'web'], T);
  await runDetached(sb, ['--name', 'web3', '--hostname', 'web3', '-p', '8080:80', 'busybox', ...HTTPD]);
  assert.equal(await served(() => fromWorld(`http://${HOST}:8080/`)), 'hi-web3');
});

test('ICC off: containers of the network cannot talk, except through published ports', async () => {
  await sb.docker(['network', 'create', '-o', 'com.docker.network.bridge.enable_icc=false', '--subnet', '10.77.0.0/24', 'noicc'], T);
  await runDetached(sb, ['--name', 'i1', '--hostname', 'i1', '--network', 'noicc', '-p', '8090:80', 'busybox', ...HTTPD]);
  await runDetached(sb, ['--name', 'i2', '--network', 'noicc', 'busybox', 'sleep', '3600']);
  const i1 = (await inspectContainer(sb, 'i1')).NetworkSettings.Networks.noicc?.IPAddress ?? '';
  assert.equal(await served(() => fromContainer('i2', `http://${HOST}:8090/`)), 'hi-i1');
  assert.equal(await fromContainer('i2', `http://${i1}:80/`), undefined);
});

test('internal networks: no way out, no published ports, the host is no path out', async () => {
  await sb.docker(['network', 'create', '--internal', '--subnet', '10.78.0.0/24', 'intnet'], T);
  await runDetached(sb, ['--name', 'in1', '--hostname', 'in1', '--network', 'intnet', '-p', '8095:80', 'busybox', ...HTTPD]);
  await runDetached(sb, ['--name', 'in2', '--network', 'intnet', 'busybox', 'sleep', '3600']);
  const in1 = (await inspectContainer(sb, 'in1')).NetworkSettings.Networks.intnet?.IPAddress ?? '';
  assert.equal(await served(() => fromContainer('in2', `http://${in1}:80/`)), 'hi-in1', 'inside the network works');
  assert.equal(await fromWorld(`http://${HOST}:8095/`), undefined);
  const out = await sb.docker(['exec', 'in2', 'ping', '-c1', '-W2', '203.0.113.1'], { allowFail: true, ...T });
  assert.notEqual(out.code, 0);
  assert.equal(await fromContainer('in2', `http://${HOST}:8080/`), undefined, 'no published port of another network through the host');
});

test('isolation: no direct reach into another network, nor its gateway address', async () => {
  const web3 = (await inspectContainer(sb, 'web3')).NetworkSettings.IPAddress;
  await runDetached(sb, ['--name', 'other', '--network', 'noicc', 'busybox', 'sleep', '3600']);
  assert.equal(await fromContainer('other', `http://${web3}:80/`), undefined);
  const r = await sb.docker(['exec', 'other', 'ping', '-c1', '-W2', '172.17.0.1'], { allowFail: true, ...T });
  assert.notEqual(r.code, 0, 'the default bridge gateway from another network');
  assert.ok(await containerReaches(sb, 'other', '10.77.0.1'), 'its own gateway');
});

test('host ports are reserved: a host process holding one makes -p fail with Docker\'s text, a published one cannot be taken', async () => {
  const holder = sb.exec(['timeout', '8', 'busybox', 'nc', '-l', '-p', '8099'], { allowFail: true, timeoutMs: 15_000 });
  await waitFor('nc listening', async () => /:8099\b/.test((await sb.exec(['ss', '-ltnH'])).stdout), 5_000);
  const r = await sb.docker(['run', '-d', '--name', 'held', '-p', '8099:80', 'busybox', ...HTTPD], { allowFail: true, ...T });
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /driver failed programming external connectivity on endpoint held \([0-9a-f]{64}\): failed to bind host port for 0\.0\.0\.0:8099:172\.17\.\d+\.\d+:80\/tcp: address already in use/);
  assert.equal((await sb.docker(['ps', '-q', '--filter', 'name=held'])).stdout.trim(), '', 'not running');
  assert.ok(!JSON.stringify(await sb.nftJson()).includes('8099'), 'no rule for 8099');
  await sb.docker(['rm', '-f', 'held'], T);
  await holder;
  await runDetached(sb, ['--name', 'pub98', '--hostname', 'pub98', '-p', '8098:80', 'busybox', ...HTTPD]);
  assert.equal(await hostListenCode(8098), 1, 'a published port cannot be taken by a host process');
  assert.equal(await served(() => fromWorld(`http://${HOST}:8098/`)), 'hi-pub98');
  await sb.docker(['rm', '-f', 'pub98'], T);
  assert.equal(await hostListenCode(8098), 124, 'released with the publication');
});

test('a 1000-port range: published, reachable, and the daemon keeps serving the runs around it', { timeout: 120_000 }, async () => {
  // A socket is held per published port, so the daemon then holds over 1024 descriptors: libnftables
  // (select() on its netlink socket) aborted the whole daemon at the next nft change until it learnt
  // to hand such scripts to the nft program.
  await runDetached(sb, ['--name', 'wide', '-p', '20000-20999:20000-20999', 'busybox', 'sh', '-c', 'mkdir -p /w && echo wide > /w/index.html && exec httpd -f -p 20500 -h /w']);
  assert.equal(await served(() => fromWorld(`http://${HOST}:20500/`)), 'wide');
  for (let i = 0; i < 3; i++) {
    const r = await sb.docker(['run', '--rm', '-p', '21000:80', 'busybox', 'true'], { allowFail: true, ...T });
    assert.equal(r.code, 0, `run --rm -p #${i} beside 1000 published ports: ${r.stderr}`);
  }
  await sb.docker(['network', 'create', 'widenet']);
  const r = await sb.docker(['run', '--rm', '--network', 'widenet', '-p', '21001:80', 'busybox', 'true'], { allowFail: true, ...T });
  assert.equal(r.code, 0, r.stderr);
  await sb.docker(['network', 'rm', 'widenet']);
  await sb.docker(['rm', '-f', 'wide']);
  assert.equal(await fromWorld(`http://${HOST}:20500/`), undefined, 'released with the container');
  assert.equal((await sb.docker(['version', '--format', '{{.Server.Version}}'])).code, 0, 'the daemon still answers');
});
