// Storage end to end: -v binds (ro), named volumes that keep data, the volume API (create, ls with
// filters, inspect, rm in use, prune), the local driver's tmpfs option mounted under the data root
// only while used, --mount bind/volume/tmpfs, --tmpfs, anonymous volumes filled from the image
// (copy-up), --volumes-from, Mounts in inspect, rm -v. Each checked in /proc/mounts of the container
// and, for driver mounts, in the daemon's mount table. One sandbox for the file.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSandbox, type Sandbox } from '../helpers/sandbox.js';
import { lines, runDetached } from '../helpers/containers.js';

let sb: Sandbox;
let hostDir = '';
before(async () => {
  sb = await startSandbox(undefined, { prefix: 'cvol' });
  hostDir = await mkdtemp(join(tmpdir(), 'redes-e2e-bind-'));
  await writeFile(join(hostDir, 'f'), 'from the host\n');
});
after(async () => {
  await sb?.down();
  await rm(hostDir, { recursive: true, force: true });
});

const T = { timeoutMs: 20_000 };
const mountLine = (procMounts: string, dst: string): string | undefined => lines(procMounts).find((l) => l.split(' ')[1] === dst);

test('-v binds a host directory (ro refuses writes), --mount and --tmpfs mount tmpfs with their options', async () => {
  const r = await sb.docker([
    'run', '--rm', '-v', `${hostDir}:/b:ro`, '-v', `${hostDir}:/w`, '--mount', 'type=tmpfs,dst=/tm,tmpfs-size=65536', '--tmpfs', '/r:size=1m',
    'busybox', 'sh', '-c', 'cat /b/f; touch /b/x 2>&1; echo from-container > /w/g; cat /proc/mounts',
  ], { ...T, allowFail: true });
  assert.match(r.stdout, /^from the host\n/);
  assert.match(r.stdout, /touch: \/b\/x: Read-only file system/);
  assert.equal(await readFile(join(hostDir, 'g'), 'utf8'), 'from-container\n');
  assert.match(mountLine(r.stdout, '/b') ?? '', /^\S+ \/b \S+ ro,/);
  assert.match(mountLine(r.stdout, '/w') ?? '', /^\S+ \/w \S+ rw,/);
  assert.match(mountLine(r.stdout, '/tm') ?? '', /^tmpfs \/tm tmpfs rw,nosuid,nodev,noexec,.*size=64k/);
  assert.match(mountLine(r.stdout, '/r') ?? '', /^tmpfs \/r tmpfs rw,nosuid,nodev,noexec,.*size=1024k/);
});

test('a named volume keeps its data across containers; volume ls filters, inspect, rm in use', async () => {
  await sb.docker(['volume', 'create', '--label', 'team=a', 'data']);
  await sb.docker(['volume', 'create', 'other']);
  await sb.docker(['run', '--rm', '-v', 'data:/data', 'busybox', 'sh', '-c', 'echo kept > /data/x']);
  assert.equal((await sb.docker(['run', '--rm', '-v', 'data:/data', 'busybox', 'cat', '/data/x'])).stdout, 'kept\n');
  assert.equal((await readFile(`/var/lib/redes/${sb.name}/volumes/data/_data/x`, 'utf8')), 'kept\n');
  assert.deepEqual(lines((await sb.docker(['volume', 'ls', '-q', '--filter', 'label=team=a'])).stdout), ['data']);
  assert.deepEqual(lines((await sb.docker(['volume', 'ls', '-q', '--filter', 'name=oth'])).stdout), ['other']);
  const v = JSON.parse((await sb.docker(['volume', 'inspect', 'data'])).stdout) as Array<Record<string, unknown>>;
  assert.deepEqual({ Name: v[0]?.Name, Driver: v[0]?.Driver, Labels: v[0]?.Labels, Mountpoint: v[0]?.Mountpoint, Scope: v[0]?.Scope },
    { Name: 'data', Driver: 'local', Labels: { team: 'a' }, Mountpoint: `/var/lib/redes/${sb.name}/volumes/data/_data`, Scope: 'local' });
  const id = await runDetached(sb, ['--name', 'user', '-v', 'data:/data', 'busybox', 'sleep', '300']);
  const inUse = await sb.docker(['volume', 'rm', 'data'], { allowFail: true });
  assert.match(inUse.stderr, new RegExp(`remove data: volume is in use - \\[${id}\\]`));
  const missing = await sb.docker(['volume', 'inspect', 'nope'], { allowFail: true });
  assert.match(missing.stderr, /no such volume/);
  await sb.docker(['rm', '-f', 'user'], T);
  await sb.docker(['volume', 'rm', 'data', 'other']);
  assert.deepEqual(lines((await sb.docker(['volume', 'ls', '-q'])).stdout), []);
});

test('the local driver\'s tmpfs option is mounted under the data root only while a container uses it', async () => {
  await sb.docker(['volume', 'create', '-o', 'type=tmpfs', '-o', 'device=tmpfs', '-o', 'o=size=1m', 'tvol']);
  const path = `/var/lib/redes/${sb.name}/volumes/tvol/_data`;
  const mounted = async (): Promise<boolean> => (await readFile('/proc/self/mountinfo', 'utf8')).split('\n').some((l) => l.split(' ')[4] === path);
  await runDetached(sb, ['--name', 'tuser', '-v', 'tvol:/t', 'busybox', 'sleep', '300']);
  assert.equal(await mounted(), true);
  assert.match(mountLine((await sb.docker(['exec', 'tuser', 'cat', '/proc/mounts'], T)).stdout, '/t') ?? '', /^tmpfs \/t tmpfs rw,.*size=1024k/);
  await sb.docker(['rm', '-f', 'tuser'], T);
  assert.equal(await mounted(), false);
  await sb.docker(['volume', 'rm', 'tvol']);
});

test('anonymous volumes start with the image\'s content; --volumes-from shares them; Mounts in inspect; rm -v removes them', async () => {
  await runDetached(sb, ['--name', 'anon', '-v', '/etc', '--mount', 'type=volume,src=named,dst=/n', 'busybox', 'sleep', '300']);
  assert.match((await sb.docker(['exec', 'anon', 'cat', '/etc/group'], T)).stdout, /^root:x:0:/m);
  const mounts = JSON.parse((await sb.docker(['inspect', '-f', '{{json .Mounts}}', 'anon'])).stdout) as Array<Record<string, unknown>>;
  const etc = mounts.find((m) => m.Destination === '/etc');
  assert.equal(etc?.Type, 'volume');
  assert.match(String(etc?.Name), /^[0-9a-f]{64}$/);
  assert.equal(etc?.Source, `/var/lib/redes/${sb.name}/volumes/${String(etc?.Name)}/_data`);
  assert.deepEqual(mounts.find((m) => m.Destination === '/n'), { Type: 'volume', Name: 'named', Source: `/var/lib/redes/${sb.name}/volumes/named/_data`, Destination: '/n', Driver: 'local', Mode: '', RW: true, Propagation: '' });
  const from = await sb.docker(['run', '--rm', '--volumes-from', 'anon:ro', 'busybox', 'sh', '-c', 'ls /etc/group && touch /n/x 2>&1'], { ...T, allowFail: true });
  assert.match(from.stdout, /\/etc\/group\ntouch: \/n\/x: Read-only file system/);
  await sb.docker(['rm', '-fv', 'anon'], T);
  assert.deepEqual(lines((await sb.docker(['volume', 'ls', '-q'])).stdout), ['named']);
  const pruned = await sb.docker(['volume', 'prune', '-af']);
  assert.match(pruned.stdout, /named/);
});

test('--read-only keeps volumes and tmpfs writable; bad mounts get Docker\'s errors', async () => {
  const r = await sb.docker(['run', '--rm', '--read-only', '-v', 'rw1:/v', '--tmpfs', '/tmp', 'busybox', 'sh', '-c', 'touch /v/a /tmp/a && touch /a 2>&1'], { ...T, allowFail: true });
  assert.match(r.stdout, /touch: \/a: Read-only file system/);
  const cases: Array<[string[], RegExp]> = [
    [['--mount', 'type=bind,src=/nonexistent-redes,dst=/x'], /invalid mount config for type "bind": bind source path does not exist: \/nonexistent-redes/],
    [['-v', 'a/b:/x'], /includes invalid characters for a local volume name/],
    [['-v', '/tmp:/x', '-v', '/var/tmp:/x'], /Duplicate mount point: \/x/],
    [['--mount', 'type=npipe,src=x,dst=/x'], /mount type unknown|invalid|not supported/],
  ];
  for (const [flags, re] of cases) {
    const c = await sb.docker(['create', ...flags, 'busybox', 'true'], { allowFail: true });
    assert.notEqual(c.code, 0, flags.join(' '));
    assert.match(c.stderr, re, flags.join(' '));
  }
  await sb.docker(['volume', 'rm', 'rw1']);
});
