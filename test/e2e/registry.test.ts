// The sandbox registry (Debian's docker-registry as registry.test:5000 in the world, TLS from the
// sandbox's CA) with the docker CLI: push, rmi, pull back the same image id; an unknown tag in
// Docker's words; a corrupted blob refused with nothing stored, then a good pull.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { open, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { startSandbox, type Sandbox } from '../helpers/sandbox.js';

let sb: Sandbox;
before(async () => {
  sb = await startSandbox(undefined, { prefix: 'reg' });
});
after(() => sb?.down());

const REF = 'registry.test:5000/team/bb:v1';
const imageId = async (ref: string): Promise<string> => (await sb.docker(['image', 'inspect', '-f', '{{.Id}}', ref])).stdout.trim();

test('push a local image, remove it, pull it back: the same image id', async () => {
  const id = await imageId('busybox');
  await sb.docker(['tag', 'busybox', REF]);
  const push = await sb.docker(['push', REF]);
  assert.match(push.stdout, /^The push refers to repository \[registry\.test:5000\/team\/bb\]$/m);
  assert.match(push.stdout, /: Pushed$/m);
  assert.match(push.stdout, /^v1: digest: sha256:[a-f0-9]{64} size: \d+$/m);
  // Pushed again: every blob is already there.
  assert.match((await sb.docker(['push', REF])).stdout, /: Layer already exists$/m);
  await sb.docker(['rmi', REF, 'busybox']);
  assert.equal((await sb.docker(['images', '-q'])).stdout.trim(), '');
  const pull = await sb.docker(['pull', REF]);
  assert.match(pull.stdout, /: Pull complete$/m);
  assert.match(pull.stdout, /^Status: Downloaded newer image for registry\.test:5000\/team\/bb:v1$/m);
  assert.equal(await imageId(REF), id);
  assert.match((await sb.docker(['run', '--rm', REF, 'echo', 'pulled'])).stdout, /^pulled$/m);
});

test("an unknown tag: Docker's manifest unknown text", async () => {
  const r = await sb.docker(['pull', 'registry.test:5000/team/bb:nope'], { allowFail: true });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /Error response from daemon: manifest for registry\.test:5000\/team\/bb:nope not found: manifest unknown: manifest unknown/);
});

test('a corrupted layer blob is refused and nothing is stored; the repaired blob pulls', async () => {
  const blobs = `/var/lib/redes/${sb.name}/registry/docker/registry/v2/blobs/sha256`;
  const files: { path: string; size: number }[] = [];
  for (const a of await readdir(blobs)) for (const b of await readdir(join(blobs, a))) {
    const path = join(blobs, a, b, 'data');
    files.push({ path, size: (await stat(path)).size });
  }
  const layer = files.sort((x, y) => y.size - x.size)[0];
  assert.ok(layer);
  await sb.docker(['rmi', REF]);
  const flip = async (): Promise<void> => {
    const f = await open(layer.path, 'r+');
    const b = Buffer.alloc(1);
    await f.read(b, 0, 1, Math.floor(layer.size / 2));
    b[0] = (b[0] ?? 0) ^ 0xff;
    await f.write(b, 0, 1, Math.floor(layer.size / 2));
    await f.close();
  };
  await flip();
  const bad = await sb.docker(['pull', REF], { allowFail: true });
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /filesystem layer verification failed for digest sha256:[a-f0-9]{64}/);
  assert.equal((await sb.docker(['images', '-q'])).stdout.trim(), '');
  const store = `/var/lib/redes/${sb.name}/images`;
  assert.deepEqual(await readdir(join(store, 'layers')), [], 'no layer kept');
  assert.deepEqual(await readdir(join(store, 'tmp')), [], 'no download left');
  await flip();
  await sb.docker(['pull', REF]);
  assert.match(await imageId(REF), /^sha256:/);
});
