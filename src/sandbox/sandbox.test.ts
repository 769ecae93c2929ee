// Sandboxes end to end, as root, with a stub daemon (the real one is tested elsewhere). Every test
// makes its own sandbox with a random name and removes it in t.after.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import dnsPacket from 'dns-packet';
import { run } from '../kernel/run.js';
import { netnsAdd, netnsList, nsenterArgv } from '../kernel/netns.js';
import { pidAlive, readPidfile } from '../kernel/process.js';
import { mountsUnder } from '../kernel/mounts.js';
import { CGROUP_ROOT, cgroupTreeDirs } from '../kernel/cgroups.js';
import { exportLine, ping, sandboxDown, sandboxPaths, sandboxUp, sandboxExec } from './index.js';
import { answersWithin } from '../util/index.js';

const quiet = (): void => undefined;
let dir = '';
let stub = '';
let runner = '';

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'redes-sandbox-test-'));
  stub = join(dir, 'redesd-stub.mjs');
  // A daemon that only answers /_ping, on the socket given by -H.
  await writeFile(stub, `import http from 'node:http';
const a = process.argv.slice(2);
const sock = a[a.indexOf('-H') + 1].replace('unix://', '');
http.createServer((q, r) => r.end(q.url === '/_ping' ? 'OK' : 'stub')).listen(sock, () => console.log('stub ready'));
process.on('SIGTERM', () => process.exit(0));
`);
  runner = join(dir, 'cli.mjs');
  const index = fileURLToPath(new URL('./index.js', import.meta.url));
  await writeFile(runner, `import { sandboxCommand } from ${JSON.stringify(index)};
process.exitCode = await sandboxCommand(process.argv.slice(2));\n`);
});
after(() => rm(dir, { recursive: true, force: true }));

const newName = (): string => `t${randomBytes(4).toString('hex')}`;

/** `redes sandbox ARGS` in a child process, with the stub daemon. */
function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return run([process.execPath, runner, ...args], { allowFailure: true, env: { ...process.env, REDESD_ENTRY: stub, ...env } });
}

async function up(t: { after: (fn: () => Promise<unknown>) => void }, name: string, lan = false) {
  t.after(() => sandboxDown(name, { progress: quiet }).catch(() => undefined));
  return sandboxUp({ name, lan, entry: stub, progress: quiet });
}

/** Run argv in namespace ns; returns stdout, asserting exit code 0. */
async function inNs(ns: string, argv: string[]): Promise<string> {
  return (await run(nsenterArgv(ns, argv), { timeoutMs: 10_000 })).stdout;
}

const wget = (ns: string, url: string): Promise<string> => inNs(ns, ['timeout', '5', 'busybox', 'wget', '-q', '-O', '-', url]);

/** Whether `to` answers an echo from namespace ns within 10 s, asked once a second (one lost ARP request is no verdict). */
const reaches = (ns: string, to: string): Promise<boolean> =>
  answersWithin(async () => (await run(nsenterArgv(ns, ['busybox', 'ping', '-c', '1', '-W', '1', to]), { allowFailure: true, timeoutMs: 5000 })).code === 0);

/** A DNS query over TCP, sent from namespace ns by a node child (dns-packet stays in this process). */
async function dnsOverTcp(ns: string, name: string): Promise<dnsPacket.DecodedPacket> {
  const query = dnsPacket.streamEncode({ type: 'query', id: 7, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: 'A', name }] });
  const script = `const s = require('net').connect(53, '203.0.113.1', () => s.write(Buffer.from(process.argv[1], 'hex')));
let b = Buffer.alloc(0);
s.on('data', (c) => { b = Buffer.concat([b, c]); if (b.length >= 2 && b.length >= 2 + b.readUInt16BE(0)) { console.log(b.toString('hex')); s.destroy(); } });
setTimeout(() => process.exit(3), 5000).unref();`;
  const hex = await inNs(ns, [process.execPath, '-e', script, query.toString('hex')]);
  return dnsPacket.streamDecode(Buffer.from(hex.trim(), 'hex')) as dnsPacket.DecodedPacket;
}

const exists = (p: string): Promise<boolean> => stat(p).then(() => true, () => false);

/** Nothing of sandbox `name` is left: namespaces, mounts, directories, processes, cgroups. */
async function assertGone(name: string, pids: (number | undefined)[]): Promise<void> {
  const p = sandboxPaths(name);
  assert.deepEqual((await netnsList()).filter((n) => n === name || n.startsWith(`${name}-`)), []);
  assert.deepEqual([...(await mountsUnder(p.execRoot)), ...(await mountsUnder(p.dataRoot))], []);
  assert.equal(await exists(p.execRoot), false);
  assert.equal(await exists(p.dataRoot), false);
  for (const pid of pids) if (pid !== undefined) assert.equal(await pidAlive(pid), false, `pid ${pid} still alive`);
  assert.deepEqual(await cgroupTreeDirs(name), []);
}

test('up makes a host whose world answers DNS and HTTP; a second up reprints the line; down removes all', async (t) => {
  const name = newName();
  t.after(() => sandboxDown(name, { progress: quiet }).catch(() => undefined));
  const p = sandboxPaths(name);
  const first = await cli(['up', '--name', name]);
  assert.equal(first.code, 0, first.stderr);
  assert.equal(first.stdout, `export DOCKER_HOST=unix:///run/redes/${name}/docker.sock\n`);
  assert.ok(await ping(p.socket));
  assert.equal(await readFile(p.resolvConf, 'utf8'), 'nameserver 203.0.113.1\n');

  const routes = JSON.parse(await inNs(name, ['ip', '-j', 'route', 'show', 'default'])) as { gateway: string; dev: string }[];
  assert.deepEqual(routes.map((r) => [r.gateway, r.dev]), [['203.0.113.1', 'eth0']]);
  const found = await inNs(name, ['busybox', 'nslookup', 'world.test', '203.0.113.1']);
  assert.match(found, /Name:\s+world\.test\s+Address:\s+203\.0\.113\.1/);
  const missing = await run(nsenterArgv(name, ['busybox', 'nslookup', 'nothere.test', '203.0.113.1']), { allowFailure: true });
  assert.match(missing.stdout, /NXDOMAIN/);
  const tcp = await dnsOverTcp(name, 'world.test');
  assert.deepEqual(tcp.answers?.map((a) => (a as { data?: unknown }).data), ['203.0.113.1']);
  assert.equal(await wget(name, 'http://203.0.113.1/'), 'hello from world\n');

  const pids = [await readPidfile(p.daemonPid), await readPidfile(p.worldPid)];
  const second = await cli(['up', '--name', name]);
  assert.equal(second.code, 0, second.stderr);
  assert.equal(second.stdout, first.stdout);
  assert.deepEqual([await readPidfile(p.daemonPid), await readPidfile(p.worldPid)], pids);
  assert.match((await cli(['ls'])).stdout, new RegExp(`^${name}\\s+running\\s+${pids[0]}\\s+unix://${p.socket}$`, 'm'));

  const down = await cli(['down', name]);
  assert.equal(down.code, 0, down.stderr);
  assert.equal(down.stdout, '');
  await assertGone(name, pids);
});

test('$REDES_SANDBOX names the sandbox when none is given; --tour says where the tour starts', async (t) => {
  const name = newName();
  t.after(() => sandboxDown(name, { progress: quiet }).catch(() => undefined));
  const env = { REDES_SANDBOX: name };
  const r = await cli(['up', '--tour'], env);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, `export DOCKER_HOST=unix:///run/redes/${name}/docker.sock\n`);
  assert.match(r.stderr, /tour .*starts here/);
  assert.match(r.stderr, /es: \/.*\/docs\/curso\/README\.md$/m);
  assert.match(r.stderr, /en: \/.*\/docs\/course\/README\.md$/m);
  assert.equal((await cli(['exec', '--', 'sh', '-c', 'exit 5'], env)).code, 5);
  const world = await cli(['world', '--', 'ip', '-br', 'addr', 'show', 'dev', 'uplink'], env);
  assert.match(world.stdout, /203\.0\.113\.1\/24/);
  const noLan = await cli(['lan', '--', 'true'], env);
  assert.equal(noLan.code, 1);
  assert.match(noLan.stderr, new RegExp(`sandbox netns "${name}-lan" not found`));
  const noDash = await cli(['exec', 'true'], env);
  assert.equal(noDash.code, 2, 'without --, the first word is the sandbox name');
  assert.match(noDash.stderr, /a command is needed/);
});

test('two sandboxes run at once and go down separately', async (t) => {
  const [a, b] = [newName(), newName()];
  const [ua, ub] = await Promise.all([up(t, a), up(t, b)]);
  assert.equal(ua.exportLine, exportLine(a));
  assert.equal(ub.exportLine, exportLine(b));
  assert.equal(await wget(a, 'http://203.0.113.1/'), 'hello from world\n');
  assert.equal(await wget(b, 'http://203.0.113.1/'), 'hello from world\n');
  assert.equal(await sandboxExec(a, ['sh', '-c', 'exit 7']), 7);
  assert.equal(await sandboxDown(a, { progress: quiet }), true);
  await assertGone(a, [ua.daemonPid]);
  assert.ok(await ping(sandboxPaths(b).socket));
  assert.equal(await wget(b, 'http://203.0.113.1/'), 'hello from world\n');
});

test('--lan gives the host 198.51.100.2 on eth1, a lan server at .1, and macvlan children reach it', async (t) => {
  const name = newName();
  const r = await up(t, name, true);
  assert.equal(await wget(name, 'http://198.51.100.1/'), 'hello from lan\n');
  for (const [i, addr] of [['1', '198.51.100.11'], ['2', '198.51.100.12']] as const) {
    const ns = `${name}-mv${i}`;
    await netnsAdd(ns); // named N-* so that down removes it like a daemon's namespace
    await run(['ip', '-n', name, 'link', 'add', `mv${i}`, 'link', 'eth1', 'type', 'macvlan', 'mode', 'bridge']);
    await run(['ip', '-n', name, 'link', 'set', `mv${i}`, 'netns', ns]);
    await run(['ip', '-n', ns, 'address', 'add', `${addr}/24`, 'dev', `mv${i}`]);
    await run(['ip', '-n', ns, 'link', 'set', `mv${i}`, 'up']);
    assert.equal(await wget(ns, 'http://198.51.100.1/'), 'hello from lan\n');
  }
  assert.ok(await reaches(`${name}-mv1`, '198.51.100.12'), 'macvlan children reach each other');
  assert.equal(await sandboxDown(name, { progress: quiet }), true);
  await assertGone(name, [r.daemonPid]);
});

test('up repairs a half-made sandbox: dead daemon, missing world', async (t) => {
  const name = newName();
  const first = await up(t, name);
  process.kill(first.daemonPid, 'SIGKILL');
  await run(['ip', 'netns', 'delete', `${name}-world`]);
  const second = await sandboxUp({ name, entry: stub, progress: quiet });
  assert.equal(second.changed, true);
  assert.notEqual(second.daemonPid, first.daemonPid);
  assert.equal(second.exportLine, first.exportLine);
  assert.equal(await wget(name, 'http://203.0.113.1/'), 'hello from world\n');
  assert.equal((await sandboxUp({ name, entry: stub, progress: quiet })).changed, false);
});

/** A runc container of sandbox `name` in namespace N-c1, cgroup /N/c1; returns its pid. */
async function runcContainer(name: string): Promise<number | undefined> {
  const p = sandboxPaths(name);
  const bundle = join(p.dataRoot, 'bundle');
  await mkdir(join(bundle, 'rootfs', 'bin'), { recursive: true });
  await copyFile('/bin/busybox', join(bundle, 'rootfs', 'bin', 'busybox'));
  await run(['runc', 'spec', '--bundle', bundle]);
  type Spec = { process: { args: string[]; terminal: boolean }; linux: { cgroupsPath?: string; namespaces: { type: string; path?: string }[] } };
  const spec = JSON.parse(await readFile(join(bundle, 'config.json'), 'utf8')) as Spec;
  spec.process = { ...spec.process, args: ['/bin/busybox', 'sleep', '1000'], terminal: false };
  spec.linux.cgroupsPath = `/${name}/c1`;
  await netnsAdd(`${name}-c1`);
  spec.linux.namespaces = spec.linux.namespaces.map((n) => (n.type === 'network' ? { type: 'network', path: `/run/netns/${name}-c1` } : n));
  await writeFile(join(bundle, 'config.json'), JSON.stringify(spec));
  const r = spawnSync('runc', ['--root', p.runcRoot, 'run', '-d', '--bundle', bundle, 'c1'], { stdio: 'ignore', timeout: 10_000 });
  assert.equal(r.status, 0, 'runc run');
  const state = JSON.parse((await run(['runc', '--root', p.runcRoot, 'state', 'c1'])).stdout) as { pid: number };
  return state.pid;
}

test('down removes what a daemon killed with -9 left: containers, processes, mounts, cgroups, namespaces', async (t) => {
  const name = newName();
  const r = await up(t, name);
  const p = sandboxPaths(name);
  const ctrPid = await runcContainer(name);
  // A process in a namespace of the sandbox, a process in its cgroup tree, and nested mounts.
  await netnsAdd(`${name}-c2`);
  const inNsChild = spawn('nsenter', nsenterArgv(`${name}-c2`, ['sleep', '1000']).slice(1), { stdio: 'ignore', detached: true });
  inNsChild.unref();
  const cg = join(CGROUP_ROOT, 'pids', name, 'c3');
  await mkdir(cg, { recursive: true });
  const inCg = spawn('sleep', ['1000'], { stdio: 'ignore', detached: true });
  inCg.unref();
  await writeFile(join(cg, 'cgroup.procs'), String(inCg.pid));
  await mkdir(join(p.dataRoot, 'm1'));
  await run(['mount', '-t', 'tmpfs', 'redes-test', join(p.dataRoot, 'm1')]);
  await mkdir(join(p.dataRoot, 'm1', 'm2'));
  await run(['mount', '-t', 'tmpfs', 'redes-test', join(p.dataRoot, 'm1', 'm2')]);
  await mkdir(join(p.execRoot, 'm3'));
  await run(['mount', '-t', 'tmpfs', 'redes-test', join(p.execRoot, 'm3')]);
  const worldPid = await readPidfile(p.worldPid);

  process.kill(r.daemonPid, 'SIGKILL');
  assert.equal(await sandboxDown(name, { progress: quiet }), true);
  await assertGone(name, [r.daemonPid, worldPid, ctrPid, inNsChild.pid, inCg.pid]);
});

test('down of a missing sandbox is not an error, and bad names are refused', async () => {
  const name = newName();
  const r = await cli(['down', name]);
  assert.equal(r.code, 0);
  assert.match(r.stderr, /not found/);
  assert.equal(await sandboxDown(name, { progress: quiet }), false);
  const bad = await cli(['up', '--name', 'Bad-Name']);
  assert.notEqual(bad.code, 0);
  assert.equal(bad.stdout, '');
  assert.match(bad.stderr, /invalid sandbox name "Bad-Name"/);
  assert.equal((await cli(['exec', name, '--', 'true'])).code, 1);
});

test('up fails with the daemon log tail when the daemon dies, and down cleans the half-made sandbox', async (t) => {
  const name = newName();
  const dying = join(dir, 'dying.mjs');
  await writeFile(dying, "console.error('boom: cannot start'); process.exit(1);\n");
  t.after(() => sandboxDown(name, { progress: quiet }).catch(() => undefined));
  await assert.rejects(sandboxUp({ name, entry: dying, progress: quiet }), /it exited; log tail:\n(.|\n)*boom: cannot start/);
  const worldPid = await readPidfile(sandboxPaths(name).worldPid);
  assert.equal(await sandboxDown(name, { progress: quiet }), true);
  await assertGone(name, [worldPid]);
});
