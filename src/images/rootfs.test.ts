import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { buildBusyboxRootfs, busyboxImageTar, DEFAULT_PATH_ENV, ensureBusyboxImage, isStaticElf } from './busybox.js';
import { isMountPoint, mountRootfs, unmountRootfs } from './rootfs.js';
import { sha256 } from './spec.js';
import { ImageStore } from './store.js';
import { packTar } from './tar-write.js';

async function setup(t: { after: (fn: () => Promise<void>) => void }): Promise<{ store: ImageStore; root: string }> {
  const root = await mkdtemp(join(tmpdir(), 'redes-img-rootfs-'));
  t.after(async () => {
    await unmountRootfs(join(root, 'c1'));
    await unmountRootfs(join(root, 'c2'));
    await rm(root, { recursive: true, force: true });
  });
  return { store: await ImageStore.open(join(root, 'images')), root };
}

test('busybox image: deterministic, on PATH, mounts as an overlay rootfs', async (t) => {
  const { store, root } = await setup(t);
  assert.ok(isStaticElf(await readFile('/bin/busybox')));
  const img = await ensureBusyboxImage(store);
  assert.deepEqual(img.repoTags, ['busybox:latest']);
  assert.deepEqual(img.config, { Env: [DEFAULT_PATH_ENV], Cmd: ['sh'] });
  assert.equal((await ensureBusyboxImage(store)).id, img.id, 'idempotent');
  assert.equal(sha256(await busyboxImageTar()), sha256(await busyboxImageTar()), 'deterministic');
  assert.equal(img.layers[0], sha256(await buildBusyboxRootfs()));

  const c1 = join(root, 'c1');
  const rootfs = await mountRootfs(store.rootfsLayers(img.id), c1);
  assert.equal(rootfs, join(c1, 'rootfs'));
  assert.ok(await isMountPoint(rootfs));
  assert.equal(await mountRootfs(store.rootfsLayers(img.id), c1), rootfs, 'mounting again is a no-op');
  for (const tool of ['bin/sh', 'usr/sbin/httpd', 'usr/bin/nc', 'bin/ping', 'usr/bin/wget', 'usr/bin/nslookup', 'sbin/ip']) {
    assert.equal(await readlink(join(rootfs, tool)), '/bin/busybox', tool);
  }
  assert.ok((await lstat(join(rootfs, 'bin/busybox'))).isFile());
  assert.equal((await lstat(join(rootfs, 'tmp'))).mode & 0o7777, 0o1777);
  assert.match(await readFile(join(rootfs, 'etc/passwd'), 'utf8'), /^root:x:0:0:/);
  await writeFile(join(rootfs, 'etc/hostname'), 'written\n');
  assert.equal(await readFile(join(c1, 'upper/etc/hostname'), 'utf8'), 'written\n', 'writes go to upper/');
  await unmountRootfs(c1);
  assert.equal(await isMountPoint(rootfs), false);
  await unmountRootfs(c1);
  await unmountRootfs(join(root, 'never-made'));
});

test('a second layer whiteout and opaque dir hide lower files in the mounted rootfs', async (t) => {
  const { store, root } = await setup(t);
  const l1 = await packTar([
    { name: 'a/gone', content: '1' },
    { name: 'a/kept', content: '2' },
    { name: 'b/old', content: '3' },
  ]);
  const l2 = await packTar([
    { name: 'a/.wh.gone', content: '' },
    { name: 'b/.wh..wh..opq', content: '' },
    { name: 'b/new', content: '4' },
  ]);
  const base = await store.importRootfs(Readable.from([l1]));
  const top = await store.importRootfs(Readable.from([l2]));
  const layers = [...store.rootfsLayers(base.id), ...store.rootfsLayers(top.id)];
  const rootfs = await mountRootfs(layers, join(root, 'c2'));
  assert.deepEqual((await readdir(join(rootfs, 'a'))).sort(), ['kept']);
  assert.deepEqual((await readdir(join(rootfs, 'b'))).sort(), ['new']);
  await unmountRootfs(join(root, 'c2'));
});

test('mountRootfs stacks more layers than fit in one page of mount options', async (t) => {
  const { root } = await setup(t);
  const layers: string[] = [];
  for (let i = 0; i < 120; i++) {
    const dir = join(root, 'layers', `${String(i).padStart(3, '0')}${'f'.repeat(61)}`);
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, `f${i}`), String(i));
    await writeFile(join(dir, 'top'), String(i));
    layers.push(dir);
  }
  const rootfs = await mountRootfs(layers, join(root, 'c1'));
  assert.equal((await readdir(rootfs)).length, 121);
  assert.equal(await readFile(join(rootfs, 'top'), 'utf8'), '119', 'the last layer is the highest');
  await unmountRootfs(join(root, 'c1'));
});
