// The sandbox registry (Debian's docker-registry as registry.test:5000 in the world, TLS from the
// sandbox's CA) with the docker CLI: push, rmi, pull back the same image id; an unknown tag in
// Docker's words; a corrupted blob refused with nothing stored, then a good pull; crafted manifest
// lists and OCI indexes (the linux/amd64 entry is pulled); a registry that dies halfway through a
// pull (an error, nothing stored, the next pull works); a push to another repository mounts the
// layers the registry already holds; zstd layers (beside a gzip one) pull and unpack, a zstd layer
// whose bytes match their digest but are not zstd is refused with nothing stored.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { open, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { startSandbox, type Sandbox } from '../helpers/sandbox.js';
import { craftImage, craftIndex, gzipLayer, pushCrafted, startWorldTool, trustPort, zstdLayer, type Crafted } from '../helpers/registry-tools.js';

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

const inspect = async (ref: string): Promise<{ Id: string; Architecture: string; RepoDigests: string[]; RootFS: { Layers: string[] } }> =>
  JSON.parse((await sb.docker(['image', 'inspect', '-f', '{{json .}}', ref])).stdout) as { Id: string; Architecture: string; RepoDigests: string[]; RootFS: { Layers: string[] } };

test('a manifest list and an OCI index: the linux/amd64 entry is pulled, an index without it is refused', async () => {
  const image = async (arch: string, format: 'oci' | 'docker'): Promise<Crafted> => craftImage({ arch, format, layers: [await gzipLayer({ [`${format}-${arch}`]: `${arch}\n` })] });
  const [arm, amd, ociArm, ociAmd] = [await image('arm64', 'docker'), await image('amd64', 'docker'), await image('arm64', 'oci'), await image('amd64', 'oci')];
  const list = craftIndex('docker', [{ image: arm, arch: 'arm64', variant: 'v8' }, { image: amd, arch: 'amd64' }]);
  const index = craftIndex('oci', [{ image: ociArm, arch: 'arm64', variant: 'v8' }, { image: ociAmd, arch: 'amd64' }]);
  const armOnly = craftIndex('oci', [{ image: ociArm, arch: 'arm64', variant: 'v8' }]);
  const images = [arm, amd, ociArm, ociAmd];
  await pushCrafted(sb, [{ repo: 'crafted/multi', images, manifests: [...images.map((i) => ({ ref: i.manifest.digest, ...i.manifest })), { ref: 'list', ...list }, { ref: 'oci', ...index }, { ref: 'armonly', ...armOnly }] }]);
  for (const [tag, top, want] of [['list', list, amd], ['oci', index, ociAmd]] as const) {
    const ref = `registry.test:5000/crafted/multi:${tag}`;
    const pull = await sb.docker(['pull', ref]);
    assert.match(pull.stdout, new RegExp(`^Digest: ${top.digest}$`, 'm'), 'the digest of the list or index, as Docker prints it');
    const got = await inspect(ref);
    assert.equal(got.Id, want.id);
    assert.equal(got.Architecture, 'amd64');
    assert.deepEqual(got.RootFS.Layers, want.layers.map((l) => l.diffId));
    assert.ok(got.RepoDigests.includes(`registry.test:5000/crafted/multi@${top.digest}`), JSON.stringify(got.RepoDigests));
  }
  // By digest: the index's digest names the same image.
  await sb.docker(['rmi', 'registry.test:5000/crafted/multi:oci']);
  await sb.docker(['pull', `registry.test:5000/crafted/multi@${index.digest}`]);
  assert.equal((await inspect(`registry.test:5000/crafted/multi@${index.digest}`)).Id, ociAmd.id);
  const none = await sb.docker(['pull', 'registry.test:5000/crafted/multi:armonly'], { allowFail: true });
  assert.equal(none.code, 1);
  assert.match(none.stderr, /no matching manifest for linux\/amd64 in the manifest list entries/);
});

test('zstd layers: pulled, verified and unpacked beside a gzip layer; a blob that is not zstd is refused, nothing stored', async () => {
  const big = randomBytes(3 << 20);
  const layers = [await gzipLayer({ 'etc/gz.txt': 'gzip\n' }), await zstdLayer({ 'etc/zst.txt': 'zstd\n', 'big.bin': big })];
  const img = craftImage({ arch: 'amd64', format: 'oci', layers });
  // Not zstd at all, yet the manifest's digest and size are right: the decoder's error, not a digest error.
  const junkBytes = randomBytes(4096);
  const junk = { bytes: junkBytes, zstd: true, digest: `sha256:${createHash('sha256').update(junkBytes).digest('hex')}`, diffId: `sha256:${'1'.repeat(64)}` };
  const bad = craftImage({ arch: 'amd64', format: 'oci', layers: [junk], label: 'junk' });
  await pushCrafted(sb, [{ repo: 'crafted/zstd', images: [img, bad], manifests: [{ ref: 'v1', ...img.manifest }, { ref: 'junk', ...bad.manifest }] }]);
  const ref = 'registry.test:5000/crafted/zstd:v1';
  await sb.docker(['pull', ref]);
  assert.equal(await imageId(ref), img.id);
  const dir = `/var/lib/redes/${sb.name}/images/layers/${layers[1]?.diffId.slice(7) ?? ''}`;
  assert.equal((await stat(join(dir, 'big.bin'))).size, big.length);
  const layersBefore = await readdir(`/var/lib/redes/${sb.name}/images/layers`);
  const refused = await sb.docker(['pull', 'registry.test:5000/crafted/zstd:junk'], { allowFail: true });
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /invalid zstd data/);
  assert.deepEqual(await readdir(`/var/lib/redes/${sb.name}/images/layers`), layersBefore);
  assert.equal((await sb.docker(['image', 'inspect', 'registry.test:5000/crafted/zstd:junk'], { allowFail: true })).code, 1);
});

test('the registry dies halfway through a pull: an error, no image and no layer kept; the next pull works', async () => {
  const layers = [];
  for (let i = 0; i < 3; i++) layers.push(await gzipLayer({ [`big${i}`]: randomBytes(3 << 20) }, 1));
  const big = craftImage({ arch: 'amd64', layers });
  await pushCrafted(sb, [{ repo: 'crafted/big', images: [big], manifests: [{ ref: 'v1', ...big.manifest }] }]);
  await trustPort(sb, 5003);
  const ref = 'registry.test:5003/crafted/big:v1';
  // A proxy in front of the registry that exits once it has passed 1 MiB of a layer.
  const dying = await startWorldTool(sb, ['proxy', '5003', String(1 << 20)]);
  try {
    const r = await sb.docker(['pull', ref], { allowFail: true, timeoutMs: 120_000 });
    assert.equal(r.code, 1, r.stdout);
    assert.match(r.stderr, /unexpected EOF|ECONNRESET|socket hang up|aborted/);
  } finally {
    await dying.stop();
  }
  assert.equal((await sb.docker(['image', 'inspect', ref], { allowFail: true })).code, 1, 'no image');
  const store = `/var/lib/redes/${sb.name}/images`;
  const kept = await readdir(join(store, 'layers'));
  for (const l of layers) assert.ok(!kept.includes(l.diffId.slice(7)), `layer ${l.diffId} kept`);
  assert.deepEqual(await readdir(join(store, 'tmp')), [], 'no download or staged layer left');
  const proxy = await startWorldTool(sb, ['proxy', '5003', '0']);
  try {
    await sb.docker(['pull', ref], { timeoutMs: 120_000 });
    assert.equal((await inspect(ref)).Id, big.id);
  } finally {
    await proxy.stop();
  }
});

test('push to another repository of the same registry mounts the layers instead of uploading them', async () => {
  const other = 'registry.test:5000/other/bb:v1';
  await sb.docker(['tag', REF, other]);
  const push = await sb.docker(['push', other]);
  assert.match(push.stdout, /: Mounted from team\/bb$/m);
  assert.doesNotMatch(push.stdout, /: Pushed$/m);
  await sb.docker(['rmi', other]);
  await sb.docker(['pull', other]);
  assert.equal(await imageId(other), await imageId(REF));
});
