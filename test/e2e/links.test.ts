// Legacy links on the default bridge end to end with the docker CLI, after the seed's commands
// (`docker run --name apache3 --link apache2:alias_apache2 ...`): the /etc/hosts line, the
// environment variables exactly as Docker writes them, HostConfig.Links in inspect, one-way-ness,
// several links, Docker's errors for missing and stopped targets, and `docker rm --link`.
// The ICC-off firewall rules for links are tested in links-icc.test.ts.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startSandbox, type Sandbox } from '../helpers/sandbox.js';
import { inspectContainer, lines, runDetached } from '../helpers/containers.js';
import { containerReaches } from '../helpers/reach.js';

let sb: Sandbox;
before(async () => {
  sb = await startSandbox(undefined, { prefix: 'lnk' });
});
after(() => sb?.down());

const T = { timeoutMs: 20_000 };
const ids: Record<string, string> = {};

async function linksOf(name: string): Promise<unknown> {
  return JSON.parse((await sb.docker(['inspect', '-f', '{{json .HostConfig.Links}}', name], T)).stdout) as unknown;
}

test('the seed link: /etc/hosts line, environment and HostConfig.Links as Docker writes them', async () => {
  ids.apache2 = await runDetached(sb, ['--name', 'apache2', '--expose', '80', '--expose', '443', '-e', 'GREETING=hi there', 'busybox', 'sleep', '3600']);
  const ip = (await inspectContainer(sb, 'apache2')).NetworkSettings.IPAddress;
  ids.apache3 = await runDetached(sb, ['--name', 'apache3', '--link', 'apache2:alias_apache2', 'busybox', 'sleep', '3600']);
  const hosts = lines((await sb.docker(['exec', 'apache3', 'cat', '/etc/hosts'], T)).stdout);
  assert.ok(hosts.includes(`${ip}\talias_apache2 ${ids.apache2.slice(0, 12)} apache2`), hosts.join('\n'));
  const env = lines((await sb.docker(['exec', 'apache3', 'env'], T)).stdout).filter((l) => l.startsWith('ALIAS_APACHE2_'));
  assert.deepEqual(env.sort(), [
    'ALIAS_APACHE2_ENV_GREETING=hi there',
    'ALIAS_APACHE2_NAME=/apache3/alias_apache2',
    `ALIAS_APACHE2_PORT=tcp://${ip}:80`,
    `ALIAS_APACHE2_PORT_443_TCP=tcp://${ip}:443`,
    `ALIAS_APACHE2_PORT_443_TCP_ADDR=${ip}`,
    'ALIAS_APACHE2_PORT_443_TCP_PORT=443',
    'ALIAS_APACHE2_PORT_443_TCP_PROTO=tcp',
    `ALIAS_APACHE2_PORT_80_TCP=tcp://${ip}:80`,
    `ALIAS_APACHE2_PORT_80_TCP_ADDR=${ip}`,
    'ALIAS_APACHE2_PORT_80_TCP_PORT=80',
    'ALIAS_APACHE2_PORT_80_TCP_PROTO=tcp',
  ]);
  assert.deepEqual(await linksOf('apache3'), ['/apache2:/apache3/alias_apache2']);
  assert.ok(await containerReaches(sb, 'apache3', 'alias_apache2'), 'apache3 → apache2 by its link alias');
});

test('a link is one-way: the target learns nothing', async () => {
  const hosts = (await sb.docker(['exec', 'apache2', 'cat', '/etc/hosts'], T)).stdout;
  assert.doesNotMatch(hosts, /apache3/);
  assert.doesNotMatch((await sb.docker(['exec', 'apache2', 'env'], T)).stdout, /ALIAS_|APACHE3/);
  assert.equal(await linksOf('apache2'), null);
});

test('several links, with and without an alias', async () => {
  await runDetached(sb, ['--name', 'db-1', '-e', 'PATH=/bin:/sbin', '-e', 'HOME=/root', 'busybox', 'sleep', '3600']);
  await runDetached(sb, ['--name', 'multi', '--link', 'apache2:web', '--link', 'db-1', 'busybox', 'sleep', '3600']);
  const hosts = (await sb.docker(['exec', 'multi', 'cat', '/etc/hosts'], T)).stdout;
  assert.match(hosts, /\tweb [0-9a-f]{12} apache2\n/);
  assert.match(hosts, /\tdb-1 [0-9a-f]{12}\n/, 'the name is not repeated when it is the alias');
  const env = (await sb.docker(['exec', 'multi', 'env'], T)).stdout;
  assert.match(env, /^WEB_NAME=\/multi\/web$/m);
  assert.match(env, /^DB_1_NAME=\/multi\/db-1$/m);
  assert.doesNotMatch(env, /DB_1_ENV_(PATH|HOME)=/, 'HOME and PATH of the target are not passed');
  assert.doesNotMatch(env, /DB_1_PORT/, 'no exposed ports, no port variables');
  assert.deepEqual(await linksOf('multi'), ['/apache2:/multi/web', '/db-1:/multi/db-1']);
});

test('a link to a missing container fails at create with Docker\'s message', async () => {
  const r = await sb.docker(['run', '-d', '--link', 'nothere:x', 'busybox', 'true'], { ...T, allowFail: true });
  assert.equal(r.code, 125);
  assert.match(r.stderr, /Error response from daemon: could not get container for nothere: No such container: nothere/);
});

test('a link to a stopped container fails at start with Docker\'s message', async () => {
  await sb.docker(['create', '--name', 'sleeper', 'busybox', 'true'], T);
  await sb.docker(['create', '--name', 'waiter', '--link', 'sleeper:s', 'busybox', 'sleep', '3600'], T);
  const r = await sb.docker(['start', 'waiter'], { ...T, allowFail: true });
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /Cannot link to a non running container: \/sleeper AS \/waiter\/s/);
});

test('docker rm --link removes one link of the parent', async () => {
  const r = await sb.docker(['rm', '--link', '/multi/web'], T);
  assert.equal(r.stdout.trim(), '/multi/web');
  assert.deepEqual(await linksOf('multi'), ['/db-1:/multi/db-1']);
  const bare = await sb.docker(['rm', '--link', 'multi'], { ...T, allowFail: true });
  assert.match(bare.stderr, /Conflict, cannot remove the default link name of the container/);
});

test('a target back with a new address: the running parent\'s /etc/hosts follows, its environment does not', async () => {
  const tid = await runDetached(sb, ['--name', 'mover', '--expose', '80', 'busybox', 'sleep', '3600']);
  const oldIp = (await inspectContainer(sb, 'mover')).NetworkSettings.IPAddress;
  await runDetached(sb, ['--name', 'follower', '--link', 'mover:m', 'busybox', 'sleep', '3600']);
  await sb.docker(['stop', '-t', '1', 'mover'], T);
  // The default bridge hands out the lowest free address: fillers take the old one (and any hole below it).
  for (let i = 0; i < 6; i++) {
    await runDetached(sb, ['--name', `filler${i}`, 'busybox', 'sleep', '3600']);
    if ((await inspectContainer(sb, `filler${i}`)).NetworkSettings.IPAddress === oldIp) break;
  }
  await sb.docker(['start', 'mover'], T);
  const newIp = (await inspectContainer(sb, 'mover')).NetworkSettings.IPAddress;
  assert.notEqual(newIp, oldIp, 'the target should have come back with another address');
  const hosts = lines((await sb.docker(['exec', 'follower', 'cat', '/etc/hosts'], T)).stdout);
  assert.ok(hosts.includes(`${newIp}\tm ${tid.slice(0, 12)} mover`), hosts.join('\n'));
  assert.ok(!hosts.some((l) => l.startsWith(`${oldIp}\t`)), hosts.join('\n'));
  assert.match((await sb.docker(['exec', 'follower', 'env'], T)).stdout, new RegExp(`^M_PORT_80_TCP_ADDR=${oldIp.replace(/\./g, '\\.')}$`, 'm'));
  assert.ok(await containerReaches(sb, 'follower', 'm'), 'follower → m by its link alias, at its new address');
});
