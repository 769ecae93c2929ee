import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseChallenge } from './client.js';
import { Registries, splitName } from './endpoints.js';
import { parseManifest, pickPlatform } from './manifest.js';
import { progressBar } from './pull.js';

const d = (c: string): string => `sha256:${c.repeat(64)}`;

test('WWW-Authenticate challenges: Bearer with quoted parameters, Basic', () => {
  assert.deepEqual(parseChallenge('Bearer realm="https://auth.test/token",service="registry.test",scope="repository:a/b:pull"'), {
    scheme: 'bearer',
    params: { realm: 'https://auth.test/token', service: 'registry.test', scope: 'repository:a/b:pull' },
  });
  assert.deepEqual(parseChallenge('Basic realm="basic-realm"'), { scheme: 'basic', params: { realm: 'basic-realm' } });
  assert.equal(parseChallenge(''), undefined);
});

test('manifests: index with platform choice, schema 2 image, schema 1 refused', () => {
  const index = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: [
      { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: d('a'), size: 10, platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
      { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: d('b'), size: 10, platform: { os: 'linux', architecture: 'amd64' } },
    ],
  }));
  const m = parseManifest(index, '');
  assert.equal(m.kind, 'index');
  assert.equal(m.kind === 'index' && pickPlatform(m.manifests, 'linux', 'amd64')?.digest, d('b'));
  assert.equal(m.kind === 'index' && pickPlatform(m.manifests, 'linux', 's390x'), undefined);
  const image = parseManifest(Buffer.from(JSON.stringify({
    schemaVersion: 2,
    config: { mediaType: 'application/vnd.docker.container.image.v1+json', digest: d('c'), size: 5 },
    layers: [{ mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', digest: d('e'), size: 7 }],
  })), 'application/vnd.docker.distribution.manifest.v2+json');
  assert.equal(image.kind, 'image');
  assert.equal(image.kind === 'image' && image.layers[0]?.digest, d('e'));
  assert.throws(() => parseManifest(Buffer.from('{"schemaVersion":1}'), ''), /schema 1 support has been removed/);
  assert.throws(() => parseManifest(Buffer.from('{"schemaVersion":2,"config":{"digest":"x","size":1},"layers":[]}'), ''), /bad descriptor/);
});

test('endpoints: docker.io through mirrors then the Hub; insecure registries get http after https; certs.d', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'redes-certs-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await mkdir(join(dir, 'registry.test:5000'));
  await writeFile(join(dir, 'registry.test:5000', 'ca.crt'), 'PEM');
  const r = new Registries({ mirrors: ['https://mirror.test'], insecure: ['10.0.0.0/8', 'plain.test:5000'], certsDir: dir });
  assert.deepEqual((await r.endpoints('docker.io')).map((e) => `${e.scheme}://${e.host}`), ['https://mirror.test', 'https://registry-1.docker.io']);
  const sec = await r.endpoints('registry.test:5000');
  assert.deepEqual(sec.map((e) => `${e.scheme}://${e.host}`), ['https://registry.test:5000']);
  assert.deepEqual(sec[0]?.tls?.ca, ['PEM']);
  assert.deepEqual((await r.endpoints('plain.test:5000')).map((e) => `${e.scheme}://${e.host}`), ['https://plain.test:5000', 'http://plain.test:5000']);
  assert.ok(r.isInsecure('10.1.2.3:5000'));
  assert.ok(r.isInsecure('localhost:5000'));
  assert.ok(!r.isInsecure('registry.test:5000'));
  assert.deepEqual(splitName('docker.io/library/nginx'), ['docker.io', 'library/nginx']);
});

test("progress bars in Docker's shape", () => {
  assert.equal(progressBar(0, 1000), `[${' '.repeat(50)}]       0B/1kB`);
  assert.match(progressBar(500_000, 1_000_000), /^\[={24}> {25}\]\s+500kB\/1MB$/);
});
