import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lstat, mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { isRedesError } from '../util/errors.js';
import { imageInspect, imageSummary } from './api-shapes.js';
import { hostArchitecture, sha256 } from './spec.js';
import { ImageStore } from './store.js';
import { packTar } from './tar-write.js';

const hex = (d: string): string => d.slice(7);
const from = (b: Buffer): Readable => Readable.from([b]);

async function openStore(t: { after: (fn: () => Promise<void>) => void }): Promise<{ store: ImageStore; root: string }> {
  const root = await mkdtemp(join(tmpdir(), 'redes-img-store-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  return { store: await ImageStore.open(root), root };
}

const layer1 = packTar([
  { name: 'etc/', type: 'directory' },
  { name: 'etc/a', content: 'a' },
  { name: 'etc/b', content: 'bb' },
  { name: 'data/x', content: 'x' },
]);
const layer2 = packTar([{ name: 'etc/.wh.a', content: '' }, { name: 'data/.wh..wh..opq', content: '' }, { name: 'data/new', content: 'new' }]);

function config(diffIds: string[], extra: Record<string, unknown> = {}): Buffer {
  return Buffer.from(
    JSON.stringify({ architecture: hostArchitecture(), os: 'linux', created: '2024-05-06T07:08:09.123456789Z', config: { Cmd: ['sh'], Entrypoint: null, Labels: { l: 'v' } }, rootfs: { type: 'layers', diff_ids: diffIds }, ...extra }),
  );
}

/** A legacy `docker save` archive: two images, the second sharing layer 1 through a symlink. */
async function dockerSaveTar(): Promise<{ tar: Buffer; ids: string[]; diffIds: string[] }> {
  const [l1, l2] = [await layer1, await layer2];
  const [d1, d2] = [sha256(l1), sha256(l2)];
  const c1 = config([d1, d2]);
  const c2 = config([d1], { created: '2020-01-01T00:00:00Z' });
  const manifest = [
    { Config: `${hex(sha256(c1))}.json`, RepoTags: ['saved:v1', 'docker.io/team/other:latest'], Layers: [`${hex(d1)}/layer.tar`, `${hex(d2)}/layer.tar`] },
    { Config: `${hex(sha256(c2))}.json`, RepoTags: null, Layers: ['dup/layer.tar'] },
  ];
  const tar = await packTar([
    { name: `${hex(d1)}/layer.tar`, content: l1 },
    { name: `${hex(d2)}/layer.tar`, content: l2 },
    { name: 'dup/', type: 'directory' },
    { name: 'dup/layer.tar', type: 'symlink', linkname: `../${hex(d1)}/layer.tar` },
    { name: `${hex(sha256(c1))}.json`, content: c1 },
    { name: `${hex(sha256(c2))}.json`, content: c2 },
    { name: 'manifest.json', content: JSON.stringify(manifest) },
  ]);
  return { tar, ids: [sha256(c1), sha256(c2)], diffIds: [d1, d2] };
}

/** A gzipped OCI layout: an index naming a multi-platform index with a gzip layer. */
async function ociTar(): Promise<{ tar: Buffer; id: string }> {
  const l1 = await layer1;
  const gz = gzipSync(l1);
  const cfg = config([sha256(l1)]);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(cfg), size: cfg.length },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: sha256(gz), size: gz.length }],
    }),
  );
  const bogus = `sha256:${'e'.repeat(64)}`;
  const inner = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      manifests: [
        { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: bogus, size: 1, platform: { os: 'linux', architecture: 'mips64' } },
        { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: sha256(manifest), size: manifest.length, platform: { os: 'linux', architecture: hostArchitecture() } },
        { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: bogus, size: 1, annotations: { 'vnd.docker.reference.type': 'attestation-manifest' } },
      ],
    }),
  );
  const index = {
    schemaVersion: 2,
    manifests: [{ mediaType: 'application/vnd.oci.image.index.v1+json', digest: sha256(inner), size: inner.length, annotations: { 'io.containerd.image.name': 'docker.io/library/ocitest:1.0', 'org.opencontainers.image.ref.name': '1.0' } }],
  };
  const blob = (b: Buffer): { name: string; content: Buffer } => ({ name: `blobs/sha256/${hex(sha256(b))}`, content: b });
  const tar = await packTar([
    { name: 'oci-layout', content: '{"imageLayoutVersion":"1.0.0"}' },
    blob(gz),
    blob(cfg),
    blob(manifest),
    blob(inner),
    { name: 'index.json', content: JSON.stringify(index) },
  ]);
  return { tar: gzipSync(tar), id: sha256(cfg) };
}

test('importRootfs makes a one-layer image with the changes and no default Env', async (t) => {
  const { store } = await openStore(t);
  const img = await store.importRootfs(from(gzipSync(await layer1)), { ref: 'imp:1', changes: ['CMD ["sh"]', 'EXPOSE 80'], message: 'hi' });
  assert.deepEqual(img.repoTags, ['imp:1']);
  assert.deepEqual(img.layers, [sha256(await layer1)]);
  assert.deepEqual(img.config, { Cmd: ['sh'], ExposedPorts: { '80/tcp': {} } });
  assert.equal(img.spec.comment, 'hi');
  assert.equal(img.size, 4);
  const [dir] = store.rootfsLayers(img.id);
  assert.equal(await readFile(join(dir ?? '', 'etc/b'), 'utf8'), 'bb');
  const untagged = await store.importRootfs(from(await layer1));
  assert.deepEqual(untagged.repoTags, []);
  assert.equal(store.list().length, 2);
  assert.deepEqual(store.rootfsLayers(untagged.id), store.rootfsLayers(img.id), 'the layer is shared');
  await assert.rejects(store.importRootfs(from(await layer1), { changes: ['RUN x'] }), /run is not a valid change command/);
});

test('load reads a docker save archive, shares layers, and reports moved tags', async (t) => {
  const { store, root } = await openStore(t);
  const { tar, ids, diffIds } = await dockerSaveTar();
  const loaded = await store.load(from(tar));
  assert.deepEqual(loaded, [
    { id: ids[0], repoTags: ['saved:v1', 'team/other:latest'], renamed: [] },
    { id: ids[1], repoTags: [], renamed: [] },
  ]);
  const img = store.resolve('saved:v1');
  assert.deepEqual(store.rootfsLayers(img.id), diffIds.map((d) => join(root, 'layers', hex(d))));
  assert.equal(img.size, 4 + 3);
  assert.deepEqual(store.resolve(ids[1] ?? '').layers, [diffIds[0]]);
  assert.deepEqual(await store.load(from(tar)), loaded, 'loading again changes nothing');
  await store.tag(ids[1] ?? '', 'saved', 'v1');
  const again = await store.load(from(tar));
  assert.deepEqual(again[0]?.renamed, [{ ref: 'saved:v1', oldId: ids[1] }]);
});

test('load refuses a layer that does not match its diff id and keeps no layer of it', async (t) => {
  const { store, root } = await openStore(t);
  const [l1, l2] = [await layer1, await layer2];
  const cfg = config([sha256(l1), sha256(l2)]);
  const manifest = [{ Config: 'c.json', RepoTags: ['bad:1'], Layers: ['1.tar', '2.tar'] }];
  const tar = await packTar([
    { name: '1.tar', content: l1 },
    { name: '2.tar', content: l1 },
    { name: 'c.json', content: cfg },
    { name: 'manifest.json', content: JSON.stringify(manifest) },
  ]);
  await assert.rejects(store.load(from(tar)), /invalid diffID for layer: expected "sha256:[0-9a-f]{64}", got/);
  assert.deepEqual(await readdir(join(root, 'layers')), []);
  assert.deepEqual(store.list(), []);
});

test('load reads a gzipped multi-platform OCI layout named by annotation', async (t) => {
  const { store } = await openStore(t);
  const { tar, id } = await ociTar();
  assert.deepEqual(await store.load(from(tar)), [{ id, repoTags: ['ocitest:1.0'], renamed: [] }]);
  assert.equal(store.resolve('ocitest:1.0').id, id);
  await assert.rejects(store.load(from(await packTar([{ name: 'x', content: 'y' }]))), /neither manifest.json nor index.json/);
});

test('resolve finds images by name, tag, full id and unique prefix with Docker errors', async (t) => {
  const { store } = await openStore(t);
  const { tar, ids } = await dockerSaveTar();
  await store.load(from(tar));
  const id = ids[0] ?? '';
  for (const ref of ['saved:v1', 'docker.io/library/saved:v1', 'team/other', id, hex(id), hex(id).slice(0, 12), `sha256:${hex(id).slice(0, 8)}`]) {
    assert.equal(store.resolve(ref).id, id, ref);
  }
  const err = (fn: () => unknown): unknown => {
    try {
      fn();
    } catch (e) {
      return e;
    }
    return undefined;
  };
  const e1 = err(() => store.resolve('nosuch'));
  assert.ok(isRedesError(e1) && e1.kind === 'not-found' && e1.message === 'No such image: nosuch:latest');
  assert.equal((err(() => store.resolve('saved')) as Error).message, 'No such image: saved:latest');
  assert.equal((err(() => store.resolve(`sha256:${'0'.repeat(64)}`)) as Error).message, `No such image: sha256:${'0'.repeat(64)}`);
  const e2 = err(() => store.resolve('Bad'));
  assert.ok(isRedesError(e2) && e2.kind === 'invalid-parameter');
});

test('remove untags, deletes, and keeps Docker conflict rules', async (t) => {
  const { store, root } = await openStore(t);
  const { tar, ids, diffIds } = await dockerSaveTar();
  await store.load(from(tar));
  const [id1 = '', id2 = ''] = ids;
  assert.deepEqual(await store.remove('saved:v1'), [{ Untagged: 'saved:v1' }]);
  assert.equal(store.resolve(id1).repoTags.length, 1);
  await store.tag(id1, 'extra');
  await assert.rejects(store.remove(id1), /^RedesError: conflict: unable to delete [0-9a-f]{12} \(must be forced\) - image is referenced in multiple repositories$/);
  const stopped = { containerId: 'c'.repeat(64), running: false };
  await assert.rejects(store.remove(id2, { inUse: () => stopped }), /unable to delete .* \(must be forced\) - image is being used by stopped container cccccccccccc/);
  await assert.rejects(store.remove(id2, { force: true, inUse: () => ({ ...stopped, running: true }) }), /\(cannot be forced\) - image is being used by running container/);
  const records = await store.remove(id1, { force: true });
  assert.deepEqual(records.slice(0, 3), [{ Untagged: 'extra:latest' }, { Untagged: 'team/other:latest' }, { Deleted: id1 }]);
  assert.equal(records.length, 4, 'layer 2 (only used by image 1) is deleted, layer 1 is shared');
  await assert.rejects(lstat(join(root, 'layers', hex(diffIds[1] ?? ''))));
  await lstat(join(root, 'layers', hex(diffIds[0] ?? '')));
  // Forced delete of an image a stopped container uses: hidden, layers kept until unused.
  await store.tag(id2, 'two');
  await assert.rejects(store.remove('two', { inUse: () => stopped }), /unable to remove repository reference "two" \(must force\) - container cccccccccccc is using its referenced image/);
  assert.deepEqual(await store.remove('two', { force: true, inUse: () => stopped }), [{ Untagged: 'two:latest' }, { Deleted: id2 }]);
  assert.equal(store.list().length, 0);
  assert.throws(() => store.resolve(id2), /No such image/);
  assert.equal(store.rootfsLayers(id2).length, 1);
  assert.deepEqual(await store.collectGarbage(() => stopped), []);
  assert.deepEqual(await store.collectGarbage(() => false), [id2]);
  await assert.rejects(lstat(join(root, 'layers', hex(diffIds[0] ?? ''))));
});

test('the store survives a reopen and sweeps leftovers', async (t) => {
  const { store, root } = await openStore(t);
  const { tar } = await dockerSaveTar();
  await store.load(from(tar));
  await mkdir(join(root, 'layers', 'junk'));
  await mkdir(join(root, 'tmp', 'load-junk'));
  const again = await ImageStore.open(root);
  assert.deepEqual(again.list(), store.list());
  await assert.rejects(lstat(join(root, 'layers', 'junk')));
  await assert.rejects(lstat(join(root, 'tmp', 'load-junk')));
});

test('imageSummary and imageInspect give the v1.50 shapes', async (t) => {
  const { store } = await openStore(t);
  const { tar, ids } = await dockerSaveTar();
  await store.load(from(tar));
  const img = store.resolve(ids[0] ?? '');
  assert.deepEqual(imageSummary(img), {
    Id: img.id,
    ParentId: '',
    RepoTags: ['saved:v1', 'team/other:latest'],
    RepoDigests: [],
    Created: 1714979289,
    Size: 7,
    SharedSize: -1,
    Labels: { l: 'v' },
    Containers: -1,
  });
  const inspect = imageInspect(img, store.rootfsLayers(img.id));
  assert.equal(inspect.Created, '2024-05-06T07:08:09.123456789Z');
  assert.deepEqual(inspect.Config, { Cmd: ['sh'], Labels: { l: 'v' } });
  assert.deepEqual(inspect.RootFS, { Type: 'layers', Layers: img.layers });
  assert.equal(inspect.Os, 'linux');
  assert.ok(inspect.GraphDriver.Data.LowerDir && inspect.GraphDriver.Data.UpperDir);
  assert.ok(inspect.Metadata.LastTagTime);
});
