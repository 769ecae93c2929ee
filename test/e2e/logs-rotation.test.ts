// Container logs as json-file keeps them: --log-opt max-size/max-file rotate the files (log, log.1,
// ... in the container's state directory), `docker logs` reads across them (--tail, --since, -f
// through a rotation), the daemon's --log-opt defaults show in inspect, Docker's errors for bad
// options, and the none and local drivers. One sandbox whose daemon has a default log option.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { startSandbox, type Sandbox } from '../helpers/sandbox.js';
import { lines, runDetached } from '../helpers/containers.js';

let sb: Sandbox;
before(async () => {
  sb = await startSandbox(undefined, { prefix: 'logr', daemonArgs: ['--log-opt=max-file=4'] });
});
after(() => sb?.down());

const T = { timeoutMs: 60_000 };
/** The shim's frame header (src/runtime/shim-protocol.ts); a rotated file starts with one more. */
const HEADER = 16;
const stateDir = (id: string): string => join('/var/lib/redes', sb.name, 'containers', id, 'state');

async function logFiles(id: string): Promise<Array<{ name: string; size: number }>> {
  const names = (await readdir(stateDir(id))).filter((n) => /^log(\.\d+)?$/.test(n)).sort();
  return Promise.all(names.map(async (name) => ({ name, size: (await stat(join(stateDir(id), name))).size })));
}

test('a fast writer with max-size=100k max-file=3 keeps at most 3 files of at most 100k; logs reads them in order', async () => {
  // 20000 numbered lines of 31 bytes: about 620 kB, six times what three files hold.
  const id = await runDetached(sb, ['--name', 'chatty', '--log-opt', 'max-size=100k', '--log-opt', 'max-file=3', 'busybox', 'sh', '-c',
    'i=0; while [ $i -lt 20000 ]; do printf "line %05d ....................\\n" $i; i=$((i+1)); done']);
  assert.equal((await sb.docker(['wait', 'chatty'], T)).stdout.trim(), '0');
  const files = await logFiles(id);
  assert.deepEqual(files.map((f) => f.name), ['log', 'log.1', 'log.2']);
  for (const f of files) assert.ok(f.size <= 100_000, `${f.name} holds ${f.size} bytes`);
  assert.deepEqual(lines((await sb.docker(['logs', '--tail', '3', 'chatty'])).stdout), [19997, 19998, 19999].map((i) => `line ${i} ....................`));
  // Everything kept comes out in order, from some line after the first to the last, none missing.
  const all = lines((await sb.docker(['logs', 'chatty'], T)).stdout).map((l) => Number(/^line (\d+) /.exec(l)?.[1]));
  assert.ok(all[0]! > 0, `kept lines ${all[0]}..${all.at(-1)} (${all.length})`);
  // And what the files hold: each frame is a 16-byte header and at least one whole 32-byte line (one
  // write of printf), so the lines shown are between 2/3 of the files' bytes and all of them. How
  // many lines a file takes depends on how the shim's reads fell (smaller under load), not a constant.
  const stored = files.reduce((sum, f) => sum + f.size, 0);
  const shown = all.length * 32;
  assert.ok(shown <= stored && shown >= ((stored - 3 * HEADER) * 2) / 3, `${all.length} lines (${shown} bytes) from ${stored} bytes of files`);
  assert.deepEqual(all, all.map((_, k) => all[0]! + k));
  assert.equal(all.at(-1), 19999);
  // --since the time of a line: that line and the ones after it.
  const stamped = lines((await sb.docker(['logs', '-t', '--tail', '100', 'chatty'])).stdout);
  const [ts, ...rest] = (stamped[50] as string).split(' ');
  const since = lines((await sb.docker(['logs', '--since', ts as string, 'chatty'])).stdout);
  assert.ok(since.includes(rest.join(' ')) && since.at(-1) === 'line 19999 ....................' && since.length <= all.length);
  // Docker's inspect: the options given, the daemon's default max-file not applied over them.
  assert.equal((await sb.docker(['inspect', '-f', '{{json .HostConfig.LogConfig}}', 'chatty'])).stdout.trim(), '{"Type":"json-file","Config":{"max-file":"3","max-size":"100k"}}');
  await sb.docker(['rm', 'chatty']);
});

test('logs -f follows the output across rotations, nothing lost or repeated', async () => {
  // 100 lines of 40 bytes in pauses of 20 lines (800 bytes): the 1k files rotate four times.
  await sb.docker(['create', '--name', 'slow', '--log-opt', 'max-size=1k', '--log-opt', 'max-file=2', 'busybox', 'sh', '-c',
    'sleep 1; i=1; while [ $i -le 100 ]; do printf "follow %03d ..............................\\n" $i; [ $((i % 20)) = 0 ] && sleep 1; i=$((i+1)); done']);
  await sb.docker(['start', 'slow']);
  const followed = lines((await sb.docker(['logs', '-f', 'slow'], T)).stdout);
  assert.deepEqual(followed, Array.from({ length: 100 }, (_, k) => `follow ${String(k + 1).padStart(3, '0')} ..............................`));
  await sb.docker(['wait', 'slow'], T); // the log is complete when the shim ends, a moment before the engine records the exit
  const id = (await sb.docker(['inspect', '-f', '{{.Id}}', 'slow'])).stdout.trim();
  assert.deepEqual((await logFiles(id)).map((f) => f.name), ['log', 'log.1']);
  await sb.docker(['rm', 'slow']);
});

test('the daemon\'s --log-opt is every container\'s default, shown by inspect', async () => {
  await sb.docker(['create', '--name', 'dflt', 'busybox', 'true']);
  assert.equal((await sb.docker(['inspect', '-f', '{{json .HostConfig.LogConfig}}', 'dflt'])).stdout.trim(), '{"Type":"json-file","Config":{"max-file":"4"}}');
  assert.match((await sb.docker(['info', '-f', '{{.LoggingDriver}} {{.Plugins.Log}}'])).stdout, /^json-file \[json-file local\]/);
  await sb.docker(['rm', 'dflt']);
});

test('bad log options: Docker\'s texts, unknown ones at create, bad values at start; what redes lacks refused by name', async () => {
  const unknown = await sb.docker(['create', '--log-opt', 'foo=bar', 'busybox', 'true'], { allowFail: true });
  assert.match(unknown.stderr, /Error response from daemon: unknown log opt 'foo' for json-file log driver/);
  const size = await sb.docker(['run', '--name', 'badsize', '--log-opt', 'max-size=abc', 'busybox', 'true'], { allowFail: true });
  assert.match(size.stderr, /failed to create task for container: failed to initialize logging driver: invalid size: 'abc'/);
  assert.equal((await sb.docker(['inspect', '-f', '{{.State.Status}}', 'badsize'])).stdout.trim(), 'created');
  const files = await sb.docker(['run', '--name', 'badfiles', '--log-opt', 'max-file=0', 'busybox', 'true'], { allowFail: true });
  assert.match(files.stderr, /failed to initialize logging driver: max-file cannot be less than 1/);
  const compress = await sb.docker(['create', '--log-opt', 'max-size=1m', '--log-opt', 'compress=true', 'busybox', 'true'], { allowFail: true });
  assert.match(compress.stderr, /compress=true is not supported/);
  const driver = await sb.docker(['create', '--log-driver', 'syslog', 'busybox', 'true'], { allowFail: true });
  assert.match(driver.stderr, /log driver "syslog" is not supported/);
  const nodriver = await sb.docker(['create', '--log-driver', 'nosuch', 'busybox', 'true'], { allowFail: true });
  assert.match(nodriver.stderr, /logger: no log driver named 'nosuch' is registered/);
  assert.deepEqual(lines((await sb.docker(['ps', '-a', '--format', '{{.Names}}'])).stdout).sort(), ['badfiles', 'badsize']); // refused creates made nothing
  await sb.docker(['rm', 'badsize', 'badfiles']);
});

test('--log-driver none keeps no file and logs refuses; local keeps rotated files as json-file', async () => {
  const id = await runDetached(sb, ['--name', 'quiet', '--log-driver', 'none', 'busybox', 'sh', '-c', 'echo hidden; sleep 60']);
  assert.equal((await sb.docker(['run', '--rm', '--log-driver', 'none', 'busybox', 'echo', 'live']) ).stdout, 'live\n'); // attach still works
  const r = await sb.docker(['logs', 'quiet'], { allowFail: true });
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /configured logging driver does not support reading/);
  assert.deepEqual(await logFiles(id), []);
  await sb.docker(['rm', '-f', 'quiet']);
  const lid = await runDetached(sb, ['--name', 'loc', '--log-driver', 'local', '--log-opt', 'max-size=2k', '--log-opt', 'max-file=2', 'busybox', 'sh', '-c', 'seq 1 2000']);
  assert.equal((await sb.docker(['wait', 'loc'], T)).stdout.trim(), '0');
  assert.equal((await sb.docker(['logs', '--tail', '1', 'loc'])).stdout, '2000\n');
  assert.deepEqual((await logFiles(lid)).map((f) => f.name), ['log', 'log.1']);
  await sb.docker(['rm', 'loc']);
});
