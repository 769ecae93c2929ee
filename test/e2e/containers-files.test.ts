// A container's files end to end with the docker CLI: `docker cp` out of and into running and
// stopped containers (symlinks kept or followed, volumes, read-only refusals, the path-stat header),
// `docker diff`, `docker export`, `docker commit` (changes, message, pause), `docker save` and
// `docker load` round trip, `docker container prune`, `docker system df` and `docker system prune`.
// One sandbox for the file.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readlink, rm, writeFile, lstat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cmd, startSandbox, type Sandbox } from '../helpers/sandbox.js';
import { lines, runDetached, waitFor } from '../helpers/containers.js';
import { apiRequest } from '../helpers/engine-api.js';

let sb: Sandbox;
let dir = '';
before(async () => {
  sb = await startSandbox(undefined, { prefix: 'cfil' });
  dir = await mkdtemp(join(tmpdir(), 'redes-e2e-cp-'));
});
after(async () => {
  await sb?.down();
  await rm(dir, { recursive: true, force: true });
});

const T = { timeoutMs: 30_000 };
const FAIL = { ...T, allowFail: true };

test('docker cp out of a running container: a file, a directory, a symlink kept or followed (-L), a missing path', async () => {
  await runDetached(sb, ['--name', 'src', 'busybox', 'sh', '-c', 'echo hi > /tmp/f; mkdir -p /d/e; echo x > /d/e/g; ln -s /d/e /lnk; sleep 300']);
  await waitFor('the files', async () => (await sb.docker(['exec', 'src', 'test', '-L', '/lnk'], FAIL)).code === 0);
  const out = join(dir, 'out');
  await cmd(['mkdir', '-p', out]);
  await sb.docker(['cp', 'src:/tmp/f', out], T);
  assert.equal(await readFile(join(out, 'f'), 'utf8'), 'hi\n');
  await sb.docker(['cp', 'src:/d', out], T);
  assert.equal(await readFile(join(out, 'd', 'e', 'g'), 'utf8'), 'x\n');
  await sb.docker(['cp', 'src:/lnk', join(out, 'kept')], T);
  assert.equal(await readlink(join(out, 'kept')), '/d/e');
  await sb.docker(['cp', '-L', 'src:/lnk', join(out, 'followed')], T);
  assert.ok((await lstat(join(out, 'followed'))).isDirectory());
  assert.equal(await readFile(join(out, 'followed', 'g'), 'utf8'), 'x\n');
  const missing = await sb.docker(['cp', 'src:/nope', out], FAIL);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /Error response from daemon: Could not find the file \/nope in container src/);
  // The stat header, as HEAD answers it: Go's FileMode (the directory bit is 1<<31).
  const head = await apiRequest(sb.socket, 'HEAD', '/containers/src/archive?path=/d/e');
  assert.equal(head.status, 200);
  const stat = JSON.parse(Buffer.from(String(head.headers['x-docker-container-path-stat']), 'base64').toString('utf8')) as { name: string; mode: number; linkTarget: string };
  assert.equal(stat.name, 'e');
  assert.equal(stat.mode, 2 ** 31 + 0o755);
  const link = await apiRequest(sb.socket, 'HEAD', '/containers/src/archive?path=/lnk');
  assert.equal((JSON.parse(Buffer.from(String(link.headers['x-docker-container-path-stat']), 'base64').toString('utf8')) as { linkTarget: string }).linkTarget, '/d/e');
  assert.equal((await apiRequest(sb.socket, 'HEAD', '/containers/src/archive?path=/nope')).status, 404);
});

test('docker cp into a running container, into a created one (image path and named volume), and Docker\'s refusals', async () => {
  const file = join(dir, 'in.txt');
  await writeFile(file, 'hello\n');
  await sb.docker(['cp', file, 'src:/tmp/'], T);
  assert.equal((await sb.docker(['exec', 'src', 'cat', '/tmp/in.txt'], T)).stdout, 'hello\n');
  await sb.docker(['create', '--name', 'later', '-v', 'cpvol:/data', 'busybox', 'sh', '-c', 'cat /data/in.txt /etc/in.txt'], T);
  await sb.docker(['cp', file, 'later:/data/'], T);
  await sb.docker(['cp', file, 'later:/etc/'], T);
  assert.equal((await sb.docker(['start', '-a', 'later'], T)).stdout, 'hello\nhello\n');
  const nodir = await sb.docker(['cp', file, 'src:/nodir/x'], FAIL);
  assert.match(nodir.stderr, /Could not find the file \/nodir in container src/);
  await runDetached(sb, ['--name', 'ro', '--read-only', '-v', 'rovol:/v:ro', 'busybox', 'sleep', '300']);
  assert.match((await sb.docker(['cp', file, 'ro:/tmp/'], FAIL)).stderr, /Error response from daemon: container rootfs is marked read-only/);
  assert.match((await sb.docker(['cp', file, 'ro:/v/'], FAIL)).stderr, /Error response from daemon: mounted volume is marked read-only/);
  await sb.docker(['rm', '-f', 'ro', 'later'], T);
  await sb.docker(['volume', 'rm', 'cpvol', 'rovol'], T);
});

test('docker diff lists added, changed and deleted paths, never the mount points runc makes', async () => {
  await sb.docker(['run', '--name', 'chg', '-v', '/data', 'busybox', 'sh', '-c', 'rm /bin/arch; mkdir /n; touch /n/f; echo y >> /etc/passwd'], T);
  assert.deepEqual(lines((await sb.docker(['diff', 'chg'], T)).stdout), ['C /bin', 'D /bin/arch', 'C /etc', 'C /etc/passwd', 'A /n', 'A /n/f']);
  await sb.docker(['create', '--name', 'fresh', 'busybox'], T);
  assert.equal((await sb.docker(['diff', 'fresh'], T)).stdout, '');
  const tar = await cmd(['sh', '-c', `"$0" -H "$1" export chg | tar t`, '/usr/local/bin/docker', sb.dockerHost], T);
  const names = lines(tar.stdout);
  assert.ok(names.includes('bin/busybox') && names.includes('n/f'), names.slice(0, 5).join(' '));
  assert.ok(!names.includes('bin/arch'));
  await sb.docker(['rm', '-v', 'chg', 'fresh'], T);
});

test('docker commit: the container\'s changes as a new image, with --change and --message; events say so', async () => {
  const since = Math.floor(Date.now() / 1000) - 1;
  const id = (await sb.docker(['commit', '-c', 'CMD ["cat", "/tmp/in.txt"]', '-c', 'ENV COMMITTED=1', '-m', 'from src', 'src', 'made:v1'], T)).stdout.trim();
  assert.match(id, /^sha256:[0-9a-f]{64}$/);
  assert.equal((await sb.docker(['inspect', '-f', '{{.State.Status}} {{.State.Paused}}', 'src'], T)).stdout, 'running false\n');
  assert.equal((await sb.docker(['run', '--rm', 'made:v1'], T)).stdout, 'hello\n');
  assert.equal((await sb.docker(['run', '--rm', 'made:v1', 'sh', '-c', 'echo $COMMITTED; cat /tmp/f'], T)).stdout, '1\nhi\n');
  const hist = lines((await sb.docker(['history', '--format', '{{.Comment}}', 'made:v1'], T)).stdout);
  assert.equal(hist[0], 'from src');
  const until = Math.floor(Date.now() / 1000) + 1;
  const ev = lines((await sb.docker(['events', '--since', String(since), '--until', String(until), '--filter', 'container=src', '--format', '{{.Action}} {{.Actor.Attributes.imageRef}}'], T)).stdout);
  assert.ok(ev.includes('pause <no value>') && ev.includes('commit made:v1') && ev.includes('unpause <no value>'), ev.join('\n'));
});

test('docker save writes an OCI layout with manifest.json; docker load gives the same image back', async () => {
  const archive = join(dir, 'img.tar');
  const before = (await sb.docker(['inspect', '-f', '{{.Id}}', 'made:v1'], T)).stdout.trim();
  await sb.docker(['save', '-o', archive, 'made:v1'], T);
  const names = lines((await cmd(['tar', 'tf', archive])).stdout);
  for (const want of ['index.json', 'manifest.json', 'oci-layout', 'repositories', `blobs/sha256/${before.slice(7)}`]) assert.ok(names.includes(want), `${want} in ${names.join(' ')}`);
  await sb.docker(['rmi', 'made:v1'], T);
  assert.match((await sb.docker(['load', '-i', archive], T)).stdout, /Loaded image: made:v1/);
  assert.equal((await sb.docker(['inspect', '-f', '{{.Id}}', 'made:v1'], T)).stdout.trim(), before);
  const missing = await sb.docker(['save', 'nope'], FAIL);
  assert.match(missing.stderr, /Error response from daemon: No such image: nope:latest/);
  const local = join(dir, 'local.tar');
  await sb.docker(['save', '--platform', 'linux/amd64', '-o', local, 'made:v1'], T);
  assert.ok(lines((await cmd(['tar', 'tf', local])).stdout).includes(`blobs/sha256/${before.slice(7)}`));
  const foreign = join(dir, 'arm.tar');
  const arm = await sb.docker(['save', '--platform', 'linux/arm64', '-o', foreign, 'made:v1'], FAIL);
  assert.notEqual(arm.code, 0);
  assert.match(arm.stderr, /Error response from daemon: no suitable export target found for platform linux\/arm64$/m);
  await assert.rejects(lstat(foreign), 'no archive is written for a refused platform');
});

test('container prune (with a label filter), system df, and system prune', async () => {
  await sb.docker(['run', '--name', 'keep', '--label', 'keep=1', 'busybox', 'true'], T);
  await sb.docker(['run', '--name', 'gone', 'busybox', 'sh', '-c', 'head -c 5000 /dev/zero > /z'], T);
  const df = lines((await sb.docker(['system', 'df', '--format', '{{.Type}} {{.TotalCount}} {{.Active}}'], T)).stdout);
  assert.ok(df.includes('Containers 3 1'), df.join('\n')); // src runs; keep and gone have exited
  const verbose = (await sb.docker(['system', 'df', '-v', '--format', '{{json .}}'], T)).stdout;
  const sizes = (JSON.parse(verbose) as { Containers: Array<{ Names: string; Size: string }> }).Containers;
  assert.equal(sizes.find((c) => c.Names === 'gone')?.Size, '5kB');
  const pruned = await sb.docker(['container', 'prune', '-f', '--filter', 'label!=keep'], T);
  assert.match(pruned.stdout, /^Deleted Containers:\n[0-9a-f]{64}\n\nTotal reclaimed space: 5kB\n$/);
  assert.deepEqual(lines((await sb.docker(['ps', '-a', '--format', '{{.Names}}'], T)).stdout).sort(), ['keep', 'src']);
  await sb.docker(['network', 'create', 'unused'], T);
  const sys = await sb.docker(['system', 'prune', '-f'], T);
  assert.match(sys.stdout, /Deleted Containers:\n[0-9a-f]{64}\n/);
  assert.match(sys.stdout, /Deleted Networks:\nunused\n/);
  assert.match(sys.stdout, /Total reclaimed space: /);
  assert.deepEqual(lines((await sb.docker(['ps', '-a', '--format', '{{.Names}}'], T)).stdout), ['src']);
  await sb.docker(['rm', '-f', 'src'], T);
});
