/**
 * The /images routes driven by the real docker 28 CLI against a real API server on a temporary unix
 * socket, with a temporary image store (root is needed: the store chowns and makes device nodes).
 * No network namespace is involved: nothing here touches kernel networking, and `docker pull` and
 * `docker import URL` are answered without any traffic.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { notFound } from '../../../src/util/errors.js';
import { busyboxImageTar, openImageService, type LocalImageService } from '../../../src/images/index.js';
import { Router } from '../../../src/api/router.js';
import { systemRoutes } from '../../../src/api/handlers/system.js';
import { imageRoutes } from '../../../src/api/handlers/images.js';
import { serveForCli } from '../../helpers/cli-harness.js';

const skip =
  spawnSync('docker', ['--version']).status !== 0
    ? 'the docker CLI is not installed'
    : process.getuid?.() !== 0
      ? 'the image store needs root (chown, mknod)'
      : false;

interface Engine {
  dir: string;
  images: LocalImageService;
  docker: (args: string[], input?: Buffer) => Promise<{ code: number | null; stdout: string; stderr: string }>;
}

/** A server with the system and image routes on `<tmp>/docker.sock`, removed after the test. */
async function startEngine(t: TestContext, extraRoutes?: (r: Router) => void): Promise<Engine> {
  const dir = await mkdtemp(join(tmpdir(), 'redes-api-images-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const images = await openImageService(join(dir, 'images'));
  const router = new Router();
  systemRoutes(router, {
    daemonId: 'test',
    dataRoot: dir,
    counts: () => ({ containers: 0, running: 0, paused: 0, stopped: 0, images: images.list().length }),
    iptables: false,
    hostFacts: async () => ({ cgroupVersion: '1', ipv4Forwarding: true }),
    defaultAddressPools: [],
  });
  imageRoutes(router, { images });
  extraRoutes?.(router);
  const { docker } = await serveForCli(t, dir, router);
  return { dir, images, docker };
}

let busyboxTar: Promise<Buffer> | undefined;
async function writeBusyboxTar(dir: string): Promise<string> {
  busyboxTar ??= busyboxImageTar();
  const file = join(dir, 'busybox.tar');
  await writeFile(file, await busyboxTar);
  return file;
}

/** A one-file rootfs tar made with the system tar, for `docker import`. */
async function rootfsTar(dir: string): Promise<string> {
  const root = join(dir, 'rootfs');
  await mkdir(root);
  await writeFile(join(root, 'hello'), '#!/bin/sh\necho hello\n', { mode: 0o755 });
  const file = join(dir, 'rootfs.tar');
  const r = spawnSync('tar', ['-C', root, '-cf', file, '.'], { timeout: 30_000 });
  assert.equal(r.status, 0, r.stderr.toString());
  return file;
}

test('docker load, images, inspect, history and pull see the loaded busybox image', { skip }, async (t) => {
  const { dir, docker } = await startEngine(t);
  const tarFile = await writeBusyboxTar(dir);

  assert.deepEqual(await docker(['load', '-i', tarFile]), { code: 0, stdout: 'Loaded image: busybox:latest\n', stderr: '' });
  const again = await docker(['load'], await readFile(tarFile));
  assert.equal(again.stdout, 'Loaded image: busybox:latest\n', again.stderr);

  const [inspect] = JSON.parse((await docker(['image', 'inspect', 'busybox'])).stdout) as { Id: string; RepoTags: string[]; Os: string; Config: { Cmd: string[] } }[];
  assert.ok(inspect);
  assert.deepEqual([inspect.RepoTags, inspect.Os, inspect.Config.Cmd], [['busybox:latest'], 'linux', ['sh']]);
  const short = inspect.Id.slice(7, 19);

  const list = await docker(['images', '--format', '{{.Repository}}:{{.Tag}} {{.ID}}']);
  assert.deepEqual(list, { code: 0, stdout: `busybox:latest ${short}\n`, stderr: '' });

  const history = await docker(['history', '--no-trunc', '--format', '{{.ID}}|{{.CreatedBy}}', 'busybox']);
  assert.deepEqual(history, { code: 0, stdout: `${inspect.Id}|redes: busybox-static rootfs\n`, stderr: '' });

  const pull = await docker(['pull', 'busybox']);
  assert.equal(pull.code, 0, pull.stderr);
  assert.match(pull.stdout, /Status: Image is up to date for busybox:latest\ndocker\.io\/library\/busybox:latest\n$/);

  const nosuch = await docker(['pull', 'nosuch']);
  assert.equal(nosuch.code, 1);
  assert.match(nosuch.stderr, /Error response from daemon: pull access denied for nosuch, repository does not exist: no registry is configured on this engine/);
  const otherTag = await docker(['pull', 'busybox:1.36']);
  assert.equal(otherTag.code, 1);
  assert.match(otherTag.stderr, /manifest for busybox:1\.36 not found: no registry is configured/);
  const all = await docker(['pull', '--all-tags', 'busybox']);
  assert.equal(all.code, 0, all.stderr);
  assert.match(all.stdout, /Status: Image is up to date for busybox\n/);
  const inspectMissing = await docker(['image', 'inspect', 'nosuch']);
  assert.equal(inspectMissing.code, 1);
  assert.match(inspectMissing.stderr, /No such image: nosuch/);
});

test('docker run of an absent image fails with exit 125 and the no-registry message', { skip }, async (t) => {
  // Stands in for the container routes: create answers "No such image", so the CLI tries a pull.
  const { docker } = await startEngine(t, (router) =>
    router.on('POST', '/containers/create', () => {
      throw notFound('image.not_found', 'No such image: nosuch:latest');
    }),
  );
  const run = await docker(['run', '--rm', 'nosuch']);
  assert.equal(run.code, 125);
  assert.match(run.stderr, /Unable to find image 'nosuch:latest' locally/);
  assert.match(run.stderr, /pull access denied for nosuch, repository does not exist: no registry is configured on this engine/);
});

test('docker import tags the image, applies --change and --message, and refuses a URL', { skip }, async (t) => {
  const { dir, docker } = await startEngine(t);
  const tarFile = await rootfsTar(dir);

  const imported = await docker(['import', '-c', 'CMD ["/hello"]', '-c', 'ENV A=1', '-m', 'made by a test', tarFile, 'imported:v1']);
  assert.equal(imported.code, 0, imported.stderr);
  assert.match(imported.stdout, /^sha256:[a-f0-9]{64}\n$/);
  const [img] = JSON.parse((await docker(['image', 'inspect', 'imported:v1'])).stdout) as { Id: string; Comment: string; Config: { Cmd: string[]; Env: string[] } }[];
  assert.deepEqual([img?.Id, img?.Comment, img?.Config.Cmd, img?.Config.Env], [imported.stdout.trim(), 'made by a test', ['/hello'], ['A=1']]);

  const piped = await docker(['import', '-', 'team/plain'], await readFile(tarFile));
  assert.equal(piped.code, 0, piped.stderr);
  const [plain] = JSON.parse((await docker(['image', 'inspect', 'team/plain:latest'])).stdout) as { Comment: string; RepoTags: string[] }[];
  assert.deepEqual([plain?.Comment, plain?.RepoTags], ['Imported from -', ['team/plain:latest']]);

  // Refused before the upload is read: the rest of the (large) body is drained, then the error sent.
  const bad = await docker(['import', '-c', 'BOGUS x', '-'], Buffer.alloc(8 << 20));
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /Error response from daemon: bogus is not a valid change command/);
  const notTar = await docker(['import', '-', 'broken'], Buffer.from('not a tar '.repeat(100_000)));
  assert.equal(notTar.code, 1);
  assert.match(notTar.stderr, /^Error response from daemon: /);
  const url = await docker(['import', 'http://203.0.113.1/rootfs.tar', 'fromurl']);
  assert.equal(url.code, 1);
  assert.match(url.stderr, /importing from a URL is not supported/);
  const names = await docker(['images', '--format', '{{.Repository}}:{{.Tag}}']);
  assert.deepEqual(names.stdout.split('\n').filter(Boolean).sort(), ['imported:v1', 'team/plain:latest']);
});

test('docker tag, image filters and rmi follow Docker rules, with containers blocking removal', { skip }, async (t) => {
  const { dir, images, docker } = await startEngine(t);
  await docker(['load', '-i', await writeBusyboxTar(dir)]);
  const id = images.resolve('busybox').id;

  assert.deepEqual(await docker(['tag', 'busybox', 'my/box:v1']), { code: 0, stdout: '', stderr: '' });
  const byRef = await docker(['images', '--filter', 'reference=my/*', '--format', '{{.Repository}}:{{.Tag}}']);
  assert.equal(byRef.stdout, 'my/box:v1\n');
  assert.equal((await docker(['images', '--filter', 'dangling=true', '-q'])).stdout, '');
  const badFilter = await docker(['images', '--filter', 'color=red']);
  assert.match(badFilter.stderr, /invalid filter 'color'/);
  const tagMissing = await docker(['tag', 'nosuch', 'x']);
  assert.equal(tagMissing.code, 1);
  assert.match(tagMissing.stderr, /No such image: nosuch:latest/);

  assert.deepEqual(await docker(['rmi', 'busybox']), { code: 0, stdout: 'Untagged: busybox:latest\n', stderr: '' });
  const user = 'c0ffee'.padEnd(64, '0');
  images.deps.inUse = (imageId) => (imageId === id ? { containerId: user, running: false } : undefined);
  const blocked = await docker(['rmi', 'my/box:v1']);
  assert.equal(blocked.code, 1);
  assert.match(blocked.stderr, new RegExp(`conflict: unable to remove repository reference "my/box:v1" \\(must force\\) - container c0ffee000000 is using its referenced image ${id.slice(7, 19)}`));

  images.deps.inUse = undefined;
  const removed = await docker(['rmi', 'my/box:v1']);
  assert.equal(removed.code, 0, removed.stderr);
  assert.ok(removed.stdout.startsWith(`Untagged: my/box:v1\nDeleted: ${id}\n`), removed.stdout);
  const missing = await docker(['rmi', 'nosuch']);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /No such image: nosuch:latest/);
  assert.equal((await docker(['images', '-q'])).stdout, '');
});

test('docker load moves a tag with Docker\'s renaming line, and bad archives fail cleanly', { skip }, async (t) => {
  const { dir, images, docker } = await startEngine(t);
  assert.equal((await docker(['import', await rootfsTar(dir), 'busybox:latest'])).code, 0);
  const oldId = images.resolve('busybox').id;

  const load = await docker(['load', '-i', await writeBusyboxTar(dir)]);
  assert.deepEqual(load, {
    code: 0,
    stdout: `The image busybox:latest already exists, renaming the old one with ID ${oldId} to empty string\nLoaded image: busybox:latest\n`,
    stderr: '',
  });
  assert.equal((await docker(['images', '--filter', 'dangling=true', '-q', '--no-trunc'])).stdout, `${oldId}\n`);
  // The busybox image carries the busybox binary's mtime; the imported one was created just now.
  assert.equal((await docker(['images', '--filter', 'since=busybox', '-q', '--no-trunc'])).stdout, `${oldId}\n`);
  const newId = images.resolve('busybox').id;
  assert.equal((await docker(['images', '--filter', `before=${oldId.slice(7, 19)}`, '-q', '--no-trunc'])).stdout, `${newId}\n`);

  const garbage = await docker(['load'], Buffer.from('this is not a tar archive'.repeat(100)));
  assert.equal(garbage.code, 1);
  assert.match(garbage.stderr, /invalid tar archive/);

  const prune = await docker(['image', 'prune', '-f']);
  assert.equal(prune.code, 0, prune.stderr);
  assert.match(prune.stdout, new RegExp(`^Deleted Images:\\ndeleted: ${oldId}\\n`));
  assert.equal((await docker(['images', '--format', '{{.Repository}}:{{.Tag}}'])).stdout, 'busybox:latest\n');
});
