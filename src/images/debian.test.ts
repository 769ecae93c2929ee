import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { cacheKey, filterLayer, type DebianRootfs } from './debian-rootfs.js';
import { presetFor } from './debian-presets.js';
import { debianImageFromRootfs, debianSpec, exposedPort, SOURCE_LABEL } from './debian.js';
import { loadArchive } from './load.js';
import { sha256 } from './spec.js';
import { readTar } from './tar-read.js';
import { packTar } from './tar-write.js';

const rootfs: DebianRootfs = {
  key: 'k',
  suite: 'bookworm',
  packages: ['nginx-light'],
  mirror: 'http://deb.debian.org/debian',
  tarPath: '/nonexistent',
  diffId: `sha256:${'a'.repeat(64)}`,
  size: 1,
  created: '2026-12-03T16:00:00Z',
  cached: true,
};

test('presets: nginx and apache2 select theirs, in --include order; other packages none', () => {
  assert.equal(presetFor(['curl', 'nginx-light'])?.name, 'nginx');
  assert.equal(presetFor(['apache2', 'nginx'])?.name, 'httpd');
  assert.equal(presetFor(['iproute2', 'iputils-ping']), undefined);
  assert.deepEqual(presetFor(['nginx-light'])?.config.Cmd, ['nginx', '-g', 'daemon off;']);
});

test('config: preset command and port, extra ports, Debian labels; a given command wins', () => {
  const preset = presetFor(['nginx-light']);
  const spec = debianSpec(rootfs, preset, `sha256:${'b'.repeat(64)}`, { tag: 'nginx', packages: ['nginx-light'], expose: ['8443', '53/udp'] }, ['nginx-light']);
  assert.deepEqual(spec.config?.Cmd, ['nginx', '-g', 'daemon off;']);
  assert.deepEqual(Object.keys(spec.config?.ExposedPorts ?? {}).sort(), ['53/udp', '80/tcp', '8443/tcp']);
  assert.equal(spec.config?.StopSignal, 'SIGQUIT');
  assert.equal(spec.config?.Labels?.[SOURCE_LABEL], 'debian-packages');
  assert.equal(spec.config?.Labels?.['io.redes.image.debian.packages'], 'nginx-light');
  assert.deepEqual(spec.rootfs.diff_ids, [rootfs.diffId, `sha256:${'b'.repeat(64)}`]);
  assert.equal(spec.history?.length, 2);
  assert.equal(spec.created, rootfs.created);

  const plain = debianSpec(rootfs, undefined, undefined, { tag: 'debian', packages: [], cmd: ['sleep', '1'] }, []);
  assert.deepEqual(plain.config?.Cmd, ['sleep', '1']);
  assert.equal(plain.config?.ExposedPorts, undefined);
  assert.deepEqual(plain.rootfs.diff_ids, [rootfs.diffId]);
  assert.deepEqual(debianSpec(rootfs, undefined, undefined, { tag: 'd', packages: [] }, []).config?.Cmd, ['bash']);
});

test('exposed ports as Docker writes them; nonsense refused', () => {
  assert.equal(exposedPort('80'), '80/tcp');
  assert.equal(exposedPort('53/udp'), '53/udp');
  for (const p of ['0', '65536', '80/icmp', 'http', '']) assert.throws(() => exposedPort(p), /invalid port/, p);
});

test('cache key: package order and repeats do not matter; suite, packages and mirror do', () => {
  const k = cacheKey('bookworm', ['a1', 'b1'], 'http://m/');
  assert.equal(cacheKey('bookworm', ['b1', 'a1', 'a1'], 'http://m/'), k);
  assert.notEqual(cacheKey('trixie', ['a1', 'b1'], 'http://m/'), k);
  assert.notEqual(cacheKey('bookworm', ['a1'], 'http://m/'), k);
  assert.notEqual(cacheKey('bookworm', ['a1', 'b1'], 'http://n/'), k);
});

test("filterLayer: strips './', empties dev/, keeps files, links and modes; diff id is the output's sha256", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'redes-debian-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const raw = await packTar([
    { name: './', type: 'directory' },
    { name: './dev/', type: 'directory' },
    { name: './dev/null', type: 'character-device', devmajor: 1, devminor: 3, mode: 0o666 },
    { name: './dev/fd', type: 'symlink', linkname: '/proc/self/fd' },
    { name: './etc/', type: 'directory' },
    { name: './etc/passwd', content: 'root:x:0:0::/root:/bin/bash\n', mode: 0o644 },
    { name: './usr/bin/ping', content: Buffer.alloc(70_000, 7), mode: 0o4755 },
    { name: './bin', type: 'symlink', linkname: 'usr/bin' },
    { name: './usr/bin/ping2', type: 'link', linkname: './usr/bin/ping' },
  ]);
  await writeFile(join(dir, 'raw.tar'), raw);
  const { diffId, size } = await filterLayer(join(dir, 'raw.tar'), join(dir, 'out.tar'));
  const out = await readFile(join(dir, 'out.tar'));
  assert.equal(diffId, sha256(out));
  assert.equal(size, out.length);
  const seen: string[] = [];
  let pingSize = 0;
  await readTar(Readable.from([out]), async (h, body) => {
    seen.push(`${h.name} ${h.type} ${(h.mode ?? 0).toString(8)}${h.linkname ? ` -> ${h.linkname}` : ''}`);
    for await (const b of body) if (h.name === 'usr/bin/ping') pingSize += b.length;
  });
  assert.deepEqual(seen, [
    'dev/ directory 755',
    'etc/ directory 755',
    'etc/passwd file 644',
    'usr/bin/ping file 4755',
    'bin symlink 777 -> usr/bin',
    'usr/bin/ping2 link 644 -> usr/bin/ping',
  ]);
  assert.equal(pingSize, 70_000);
});

test('the archive of a Debian image loads like docker save output', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'redes-debian-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  // A tiny stand-in for the cached rootfs; the archive is what `redes image debian` sends.
  const layer = await packTar([{ name: 'etc/', type: 'directory' }, { name: 'etc/debian_version', content: '12.12\n' }]);
  await writeFile(join(dir, 'k.tar'), layer);
  const img = await debianImageFromRootfs({ ...rootfs, tarPath: join(dir, 'k.tar'), diffId: sha256(layer), size: layer.length }, { tag: 'web:1', packages: ['nginx-light'] });
  const added: string[] = [];
  const loaded = await loadArchive(img.archive(), join(dir, 'spool'), {
    hasLayer: () => false,
    addLayer: async (input, expected) => {
      let n = 0;
      for await (const b of input) n += b.length;
      assert.ok(n > 0);
      added.push(expected);
    },
    addImage: async (config, tags) => {
      assert.equal(sha256(config), img.id);
      return { id: sha256(config), repoTags: tags, renamed: [] };
    },
  });
  assert.deepEqual(loaded.map((l) => l.repoTags), [['web:1']]);
  assert.deepEqual(added, img.spec.rootfs.diff_ids);
});
