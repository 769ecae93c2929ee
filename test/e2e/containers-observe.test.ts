// Observation end to end: docker events (container, network, volume; filters; since/until), a
// healthcheck turning unhealthy (State.Health, ps status, health_status events), and stats whose
// network counters (read from the container's own namespace) grow while it downloads from the
// world server. One sandbox for the file.
import { test, before, after } from 'node:test';
import { rm } from 'node:fs/promises';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { DOCKER_BIN, dockerEnv, startSandbox, type Sandbox } from '../helpers/sandbox.js';
import { lines, runDetached, waitFor } from '../helpers/containers.js';
import { apiRequest } from '../helpers/engine-api.js';

let sb: Sandbox;
before(async () => {
  sb = await startSandbox(undefined, { prefix: 'cobs' });
});
after(() => sb?.down());

const T = { timeoutMs: 20_000 };

test('events: the lifecycle of a container with its network and volume, replayed with since/until and filtered', async () => {
  const since = Math.floor(Date.now() / 1000) - 1;
  await sb.docker(['network', 'create', 'evnet']);
  await sb.docker(['volume', 'create', 'evvol']);
  await runDetached(sb, ['--name', 'ev', '--network', 'evnet', '-v', 'evvol:/d', 'busybox', 'sleep', '300']);
  await sb.docker(['stop', '-t', '1', 'ev'], T);
  await sb.docker(['rm', 'ev']);
  const until = Math.floor(Date.now() / 1000) + 1;
  const all = lines((await sb.docker(['events', '--since', String(since), '--until', String(until), '--format', '{{.Type}} {{.Action}} {{.Actor.Attributes.name}}'], T)).stdout);
  for (const want of ['network create evnet', 'volume create <no value>', 'container create ev', 'network connect evnet', 'volume mount <no value>', 'container start ev', 'container kill ev', 'container die ev', 'network disconnect evnet', 'container stop ev', 'container destroy ev']) {
    assert.ok(all.includes(want), `${want} in:\n${all.join('\n')}`);
  }
  assert.ok(all.indexOf('container create ev') < all.indexOf('container start ev') && all.indexOf('container start ev') < all.indexOf('container die ev'));
  const onlyNet = lines((await sb.docker(['events', '--since', String(since), '--until', String(until), '--filter', 'type=network', '--filter', 'event=connect', '--format', '{{.Type}} {{.Action}} {{.Actor.Attributes.container}}'], T)).stdout);
  assert.ok(onlyNet.length >= 1 && onlyNet.every((l) => /^network connect [0-9a-f]{64}$/.test(l)), onlyNet.join('\n'));
  await sb.docker(['network', 'rm', 'evnet']);
  await sb.docker(['volume', 'rm', 'evvol']);
});

test('events stream: a client watching sees a start as it happens', async () => {
  // No head start is needed (under load the CLI may subscribe after the start): an `until`, as with
  // dockerd, replays what came before the subscription. The watch ends once the line is there.
  const args = ['events', '--filter', 'container=live', '--filter', 'event=start', '--format', '{{.Action}} {{.Actor.Attributes.name}}', '--until', String(Math.floor(Date.now() / 1000) + 60)];
  const watch = spawn(DOCKER_BIN, args, { env: dockerEnv(sb.dockerHost), stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  watch.stdout.on('data', (b: Buffer) => (out += b.toString('utf8')));
  try {
    await runDetached(sb, ['--name', 'live', 'busybox', 'sleep', '300']);
    await waitFor('the start event from docker events', async () => out.includes('\n'), 30_000);
    assert.equal(out, 'start live\n');
  } finally {
    watch.kill();
  }
  await sb.docker(['rm', '-f', 'live'], T);
});

test('a healthcheck turns healthy, then unhealthy after Retries failures; ps, inspect and events say so', async () => {
  await runDetached(sb, ['--name', 'hc', '--health-cmd', 'test ! -e /tmp/bad && echo ok', '--health-interval', '1s', '--health-retries', '2', 'busybox', 'sleep', '300']);
  await waitFor('healthy', async () => /\(healthy\)$/.test((await sb.docker(['ps', '--format', '{{.Status}}', '--filter', 'name=hc'])).stdout.trim()));
  const healthy = JSON.parse((await sb.docker(['inspect', '-f', '{{json .State.Health}}', 'hc'])).stdout) as { Status: string; Log: Array<{ ExitCode: number; Output: string }> };
  assert.equal(healthy.Status, 'healthy');
  assert.deepEqual({ ExitCode: healthy.Log.at(-1)?.ExitCode, Output: healthy.Log.at(-1)?.Output }, { ExitCode: 0, Output: 'ok\n' });
  await sb.docker(['exec', 'hc', 'touch', '/tmp/bad'], T);
  await waitFor('unhealthy', async () => /\(unhealthy\)$/.test((await sb.docker(['ps', '--format', '{{.Status}}', '--filter', 'name=hc'])).stdout.trim()), 15_000);
  const sick = JSON.parse((await sb.docker(['inspect', '-f', '{{json .State.Health}}', 'hc'])).stdout) as { Status: string; FailingStreak: number; Log: unknown[] };
  assert.equal(sick.Status, 'unhealthy');
  assert.ok(sick.FailingStreak >= 2);
  assert.ok(sick.Log.length <= 5);
  // `--until 0s` is "now" cut to the second: an explicit bound one second ahead keeps the last event.
  const until = String(Math.floor(Date.now() / 1000) + 1);
  const ev = lines((await sb.docker(['events', '--since', '60s', '--until', until, '--filter', 'container=hc', '--format', '{{.Action}}'], T)).stdout);
  assert.deepEqual(ev.filter((a) => a.startsWith('health_status')), ['health_status: healthy', 'health_status: unhealthy']);
  await sb.docker(['rm', '-f', 'hc'], T);
});

test('stats: network bytes of eth0, read from the container\'s namespace, grow while it downloads from the world', async () => {
  await runDetached(sb, ['--name', 'dl', 'busybox', 'sleep', '300']);
  type Stats = { networks?: Record<string, { rx_bytes: number; tx_bytes: number }>; memory_stats: { usage: number }; pids_stats: { current: number }; cpu_stats: { cpu_usage: { total_usage: number } } };
  const stats = async (): Promise<Stats> => (await apiRequest(sb.socket, 'GET', '/containers/dl/stats?stream=false&one-shot=true')).json<Stats>();
  const before = await stats();
  assert.deepEqual(Object.keys(before.networks ?? {}), ['eth0']);
  await sb.docker(['exec', 'dl', 'sh', '-c', 'for i in $(seq 30); do timeout 5 wget -qO- http://203.0.113.1/ > /dev/null; done'], { timeoutMs: 60_000 });
  const after = await stats();
  const rx0 = before.networks?.eth0?.rx_bytes ?? 0;
  const rx1 = after.networks?.eth0?.rx_bytes ?? 0;
  assert.ok(rx1 > rx0 + 30 * 100, `rx_bytes ${rx0} → ${rx1}`);
  assert.ok((after.networks?.eth0?.tx_bytes ?? 0) > (before.networks?.eth0?.tx_bytes ?? 0));
  assert.ok(after.memory_stats.usage > 0 && after.pids_stats.current >= 1 && after.cpu_stats.cpu_usage.total_usage > 0);
  const row = (await sb.docker(['stats', '--no-stream', '--format', '{{.NetIO}}', 'dl'], T)).stdout.trim();
  assert.match(row, /^\d+(\.\d+)?kB \/ \d+(\.\d+)?kB$/);
  await sb.docker(['rm', '-f', 'dl'], T);
});

test('events of execs (exec_create, exec_start, exec_die) and images (tag, untag, delete, save, load, import)', async () => {
  const since = Math.floor(Date.now() / 1000) - 1;
  await runDetached(sb, ['--name', 'ex', '--label', 'team=a', 'busybox', 'sleep', '300']);
  await sb.docker(['exec', 'ex', 'sh', '-c', 'exit 4'], { ...T, allowFail: true });
  await sb.docker(['tag', 'busybox', 'evimg:v1'], T);
  await sb.docker(['rmi', 'evimg:v1'], T);
  await sb.docker(['export', '-o', `/tmp/${sb.name}-ex.tar`, 'ex'], T);
  await sb.docker(['import', `/tmp/${sb.name}-ex.tar`, 'evimp:v1'], T);
  await sb.docker(['rmi', 'evimp:v1'], T);
  await rm(`/tmp/${sb.name}-ex.tar`, { force: true });
  const until = Math.floor(Date.now() / 1000) + 1;
  const ex = lines((await sb.docker(['events', '--since', String(since), '--until', String(until), '--filter', 'container=ex', '--format', '{{.Action}} {{.Actor.Attributes.team}} {{.Actor.Attributes.exitCode}}'], T)).stdout);
  for (const want of ['exec_create: sh -c exit 4 a <no value>', 'exec_start: sh -c exit 4 a <no value>', 'exec_die a 4', 'export a <no value>']) assert.ok(ex.includes(want), `${want} in:\n${ex.join('\n')}`);
  // With the container too: the previous test's exec in 'dl' can end inside this window (since = now - 1 s).
  const onlyDie = lines((await sb.docker(['events', '--since', String(since), '--until', String(until), '--filter', 'event=exec_die', '--filter', 'container=ex', '--format', '{{.Action}} {{.Actor.Attributes.name}}'], T)).stdout);
  assert.deepEqual(onlyDie, ['exec_die ex']);
  const img = lines((await sb.docker(['events', '--since', String(since), '--until', String(until), '--filter', 'type=image', '--format', '{{.Action}} {{.Actor.Attributes.name}}'], T)).stdout);
  assert.ok(img.includes('tag evimg:v1'), img.join('\n'));
  assert.ok(img.some((l) => /^untag sha256:[0-9a-f]{64}$/.test(l)) && img.some((l) => /^import sha256:[0-9a-f]{64}$/.test(l)) && img.some((l) => /^delete sha256:[0-9a-f]{64}$/.test(l)), img.join('\n'));
  await sb.docker(['rm', '-f', 'ex'], T);
});
