/**
 * The container and exec routes driven by the real docker 28 CLI against a real API server on a
 * temporary unix socket, over the in-memory FakeContainers (test-support.ts). No namespaces.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { startFakeEngine } from '../../helpers/fake-engine.js';

const skip = spawnSync('docker', ['--version']).status !== 0 ? 'the docker CLI is not installed' : false;

test('docker run attached prints stdout and stderr apart and exits with the container\'s code', { skip }, async (t) => {
  const e = await startFakeEngine(t);
  const r = await e.docker(['run', '--name', 'three', 'busybox', 'say-exit', '3', 'hello', 'oops']);
  assert.equal(r.stdout, 'hello\n');
  assert.equal(r.stderr, 'oops\n');
  assert.equal(r.code, 3);
  // attach came before wait (next-exit) and start, as the CLI orders them
  const order = e.fake.calls.map((c) => c[0]).filter((m) => ['attach', 'wait', 'start'].includes(m));
  assert.deepEqual(order, ['attach', 'wait', 'start']);
  assert.equal(e.fake.calls.find((c) => c[0] === 'wait')?.[2], 'next-exit');
});

test('docker run -i feeds piped stdin and ends it when the input ends', { skip }, async (t) => {
  const e = await startFakeEngine(t);
  const r = await e.docker(['run', '-i', 'busybox', 'cat'], 'line one\nline two\n');
  assert.equal(r.stdout, 'line one\nline two\n');
  assert.equal(r.code, 0);
});

test('docker start -a attaches before starting and exits with the code', { skip }, async (t) => {
  const e = await startFakeEngine(t);
  assert.equal((await e.docker(['create', '--name', 's', 'busybox', 'say-exit', '2', 'started'])).code, 0);
  const r = await e.docker(['start', '-a', 's']);
  assert.equal(r.stdout, 'started\n');
  assert.equal(r.code, 2);
});

test('docker run --rm waits for removal', { skip }, async (t) => {
  const e = await startFakeEngine(t);
  const r = await e.docker(['run', '--rm', 'busybox', 'echo', 'bye']);
  assert.equal(r.stdout, 'bye\n');
  assert.equal(r.code, 0);
  assert.equal(e.fake.calls.find((c) => c[0] === 'wait')?.[2], 'removed');
});

test('docker run -d, ps, inspect templates, stop, wait, logs, rm', { skip }, async (t) => {
  const e = await startFakeEngine(t);
  const run = await e.docker(['run', '-d', '--name', 'web', '--label', 'tier=front', 'busybox', 'sleep']);
  assert.equal(run.code, 0, run.stderr);
  const id = run.stdout.trim();
  assert.match(id, /^[0-9a-f]{64}$/);
  await e.docker(['create', '--name', 'idle', 'busybox', 'echo', 'hi there']);

  const ps = await e.docker(['ps', '--format', '{{.Names}}|{{.Status}}|{{.Image}}|{{.Command}}|{{.Label "tier"}}']);
  assert.match(ps.stdout, /^web\|Up (Less than a second|\d+ seconds?)\|busybox\|"sleep"\|front\n$/);
  const psa = await e.docker(['ps', '-a', '--format', '{{.Names}} {{.Status}}']);
  // A second may pass between the two ps calls: the status text is checked by its shape.
  assert.match(psa.stdout, /^idle Created\nweb Up (Less than a second|\d+ seconds?)\n$/);
  const q = await e.docker(['ps', '-aq']);
  assert.equal(q.stdout.split('\n').filter(Boolean).length, 2);

  const ip = await e.docker(['inspect', '-f', '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}', 'web']);
  assert.match(ip.stdout, /^172\.17\.0\.\d+\n$/);
  const more = await e.docker(['container', 'inspect', '-f', '{{.Name}} {{.State.Status}} {{.State.Running}} {{.HostConfig.NetworkMode}} {{.Config.Image}} {{.HostConfig.RestartPolicy.Name}}', id.slice(0, 8)]);
  assert.equal(more.stdout, '/web running true bridge busybox no\n');
  const missing = await e.docker(['inspect', 'nope']);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /No such object: nope/);

  const stop = await e.docker(['stop', 'web']);
  assert.equal(stop.code, 0, stop.stderr);
  assert.equal(stop.stdout, 'web\n');
  const wait = await e.docker(['wait', 'web']);
  assert.equal(wait.stdout, '143\n');
  const exited = await e.docker(['ps', '-a', '--filter', 'name=web', '--format', '{{.Status}}']);
  assert.match(exited.stdout, /Exited \(143\) (Less than a second|\d+ seconds?) ago/);

  const rm = await e.docker(['rm', 'web', 'idle']);
  assert.equal(rm.code, 0, rm.stderr);
  assert.equal((await e.docker(['ps', '-aq'])).stdout, '');
});

test('docker logs: streams apart, --tail, -t, and -f until exit', { skip }, async (t) => {
  const e = await startFakeEngine(t);
  await e.docker(['run', '--name', 'l', 'busybox', 'say-exit', '0', 'out line', 'err line']);
  const logs = await e.docker(['logs', 'l']);
  assert.equal(logs.stdout, 'out line\n');
  assert.equal(logs.stderr, 'err line\n');
  const tail = await e.docker(['logs', '--tail', '1', 'l']);
  assert.equal(tail.stdout + tail.stderr, 'err line\n');
  const ts = await e.docker(['logs', '-t', 'l']);
  assert.match(ts.stdout, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z out line\n$/);
  const since = await e.docker(['logs', '--since', '2000-01-01T00:00:00Z', 'l']);
  assert.equal(since.stdout, 'out line\n');
  const opts = e.fake.calls.filter((c) => c[0] === 'logs').at(-1)?.[2] as { sinceNs?: bigint };
  assert.equal(opts.sinceNs, 946684800n * 1_000_000_000n);

  await e.docker(['run', '-d', '--name', 'f', 'busybox', 'sleep']);
  const following = e.docker(['logs', '-f', 'f']);
  await new Promise((r) => setTimeout(r, 300));
  await e.docker(['stop', 'f']);
  const f = await following;
  assert.equal(f.code, 0);
});

test('docker exec: output, exit code, stdin, detach, and a start failure shown in the stream', { skip }, async (t) => {
  const e = await startFakeEngine(t);
  await e.docker(['run', '-d', '--name', 'box', 'busybox', 'sleep']);
  const echo = await e.docker(['exec', 'box', 'echo', 'from', 'exec']);
  assert.equal(echo.stdout, 'from exec\n');
  assert.equal(echo.code, 0);
  const code = await e.docker(['exec', 'box', 'say-exit', '5', '', 'bad']);
  assert.equal(code.stderr, 'bad\n');
  assert.equal(code.code, 5);
  const cat = await e.docker(['exec', '-i', 'box', 'cat'], 'piped\n');
  assert.equal(cat.stdout, 'piped\n');
  const detached = await e.docker(['exec', '-d', 'box', 'echo', 'x']);
  assert.equal(detached.code, 0, detached.stderr);
  assert.equal(detached.stdout, '');
  const failed = await e.docker(['exec', 'box', 'fail-start']);
  assert.match(failed.stdout + failed.stderr, /OCI runtime exec failed: fail-start was asked to fail/);
  const stopped = await e.docker(['exec', 'nope', 'echo']);
  assert.equal(stopped.code, 1);
  assert.match(stopped.stderr, /No such container: nope/);
});

test('docker run -it and exec -it: raw tty stream, resize, and exit code', { skip: skip || (spawnSync('script', ['--version']).status !== 0 ? 'script(1) is not installed' : false) }, async (t) => {
  const e = await startFakeEngine(t);
  // script(1) gives the CLI a terminal (sized by stty); the fake echoes and exits 7 on 'q'.
  const r = await e.exec(['script', '-qec', 'stty rows 30 cols 100; docker run -it --name tty busybox tty-echo', '/dev/null'], 'abq', 30_000);
  assert.equal(r.code, 7, r.stdout + r.stderr);
  assert.match(r.stdout, /abq/);
  assert.deepEqual(e.fake.fake('tty').resized, [30, 100]);
  const create = e.fake.calls.find((c) => c[0] === 'create')?.[2] as { Tty?: boolean; OpenStdin?: boolean };
  assert.equal(create.Tty, true);
  assert.equal(create.OpenStdin, true);
  await e.docker(['run', '-d', '--name', 'bg', 'busybox', 'sleep']);
  const x = await e.exec(['script', '-qec', 'stty rows 40 cols 120; docker exec -it bg tty-echo', '/dev/null'], 'xyq', 30_000);
  assert.equal(x.code, 7, x.stdout + x.stderr);
  assert.match(x.stdout, /xyq/);
  assert.deepEqual([...e.fake.execs.values()].at(-1)?.resized, [40, 120]);
});

test('docker kill, restart, rename, rm -f, attach, and network connect/disconnect', { skip }, async (t) => {
  const e = await startFakeEngine(t);
  await e.docker(['run', '-d', '--name', 'a', 'busybox', 'sleep']);
  assert.equal((await e.docker(['restart', '-t', '3', 'a'])).code, 0);
  assert.deepEqual(e.fake.calls.find((c) => c[0] === 'restart')?.[2], { timeout: 3 });
  assert.equal(e.fake.resolve('a').restartCount, 1);
  assert.equal((await e.docker(['rename', 'a', 'b'])).code, 0);
  assert.equal(e.fake.resolve('b').name, 'b');

  const attached = e.docker(['attach', 'b']);
  await new Promise((r) => setTimeout(r, 300));
  assert.equal((await e.docker(['kill', '-s', 'KILL', 'b'])).code, 0);
  const att = await attached;
  assert.equal(att.code, 137);
  const again = await e.docker(['kill', 'b']);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /^Error response from daemon: cannot kill container: b: container [0-9a-f]+ is not running\n$/);
  const none = await e.docker(['kill', 'nosuch']);
  assert.equal(none.stderr, 'Error response from daemon: cannot kill container: nosuch: No such container: nosuch\n');

  await e.docker(['start', 'b']);
  const con = await e.docker(['network', 'connect', '--alias', 'x', 'backend', 'b']);
  assert.equal(con.code, 0, con.stderr);
  const call = e.fake.calls.find((c) => c[0] === 'connect');
  assert.equal(call?.[1], 'backend');
  assert.equal(call?.[2], 'b');
  assert.deepEqual((call?.[3] as { Aliases?: string[] }).Aliases, ['x']);
  assert.equal((await e.docker(['network', 'disconnect', '-f', 'backend', 'b'])).code, 0);
  assert.deepEqual(e.fake.calls.find((c) => c[0] === 'disconnect')?.slice(1), ['backend', 'b', true]);

  const busy = await e.docker(['rm', 'b']);
  assert.equal(busy.code, 1);
  assert.equal(busy.stderr, 'Error response from daemon: cannot remove container "b": container is running: stop the container before removing or force remove\n');
  assert.equal((await e.docker(['rm', '-f', 'b'])).code, 0);
});
