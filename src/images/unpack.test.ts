import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { lstat, mkdir, mkdtemp, readFile, readlink, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { run } from '../kernel/run.js';
import { packTar } from './tar-write.js';
import { cleanEntryPath, unpackLayer } from './unpack.js';

const mtime = new Date('2024-01-02T03:04:05Z');

async function tempDir(t: { after: (fn: () => Promise<void>) => void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'redes-img-unpack-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

test('cleanEntryPath refuses absolute names and escapes and keeps the rest relative', () => {
  assert.equal(cleanEntryPath('./etc/passwd'), 'etc/passwd');
  assert.equal(cleanEntryPath('usr/bin/'), 'usr/bin');
  assert.equal(cleanEntryPath('./'), '');
  assert.equal(cleanEntryPath('a/../b'), 'b');
  assert.throws(() => cleanEntryPath('/etc/passwd'), /absolute path/);
  assert.throws(() => cleanEntryPath('../x'), /escapes/);
  assert.throws(() => cleanEntryPath('a/../../x'), /escapes/);
});

test('unpackLayer creates files, dirs, symlinks and hardlinks with mode, owner and mtime', async (t) => {
  const dir = await tempDir(t);
  const tar = await packTar([
    { name: 'etc/', type: 'directory', mode: 0o750, uid: 7, gid: 8, mtime },
    { name: 'etc/motd', content: 'hello\n', mode: 0o640, uid: 1000, gid: 100, mtime },
    { name: 'bin/tool', content: 'x', mode: 0o4755, mtime },
    { name: 'etc/motd.link', type: 'link', linkname: 'etc/motd' },
    { name: 'etc/sym', type: 'symlink', linkname: '/etc/motd', mtime },
    { name: 'tmp/', type: 'directory', mode: 0o1777 },
  ]);
  const { diffId, size } = await unpackLayer(Readable.from([tar]), dir);
  assert.equal(diffId, `sha256:${createHash('sha256').update(tar).digest('hex')}`);
  assert.equal(size, 7);
  const motd = await lstat(join(dir, 'etc/motd'));
  assert.equal(await readFile(join(dir, 'etc/motd'), 'utf8'), 'hello\n');
  assert.equal(motd.mode & 0o7777, 0o640);
  assert.deepEqual([motd.uid, motd.gid], [1000, 100]);
  assert.equal(motd.mtime.getTime(), mtime.getTime());
  assert.equal(motd.nlink, 2, 'hardlink shares the inode');
  const etc = await lstat(join(dir, 'etc'));
  assert.equal(etc.mode & 0o7777, 0o750);
  assert.deepEqual([etc.uid, etc.gid], [7, 8]);
  assert.equal(etc.mtime.getTime(), mtime.getTime(), 'dir mtime set after its children');
  assert.equal((await lstat(join(dir, 'bin/tool'))).mode & 0o7777, 0o4755);
  assert.equal(await readlink(join(dir, 'etc/sym')), '/etc/motd');
  assert.equal((await lstat(join(dir, 'tmp'))).mode & 0o7777, 0o1777);
});

test('unpackLayer turns .wh. files into overlay whiteouts and .wh..wh..opq into an opaque dir', async (t) => {
  const dir = await tempDir(t);
  const tar = await packTar([
    { name: 'a/.wh.gone', content: '' },
    { name: 'b/.wh..wh..opq', content: '' },
    { name: 'b/new', content: 'n' },
  ]);
  await unpackLayer(Readable.from([tar]), dir);
  const wh = await lstat(join(dir, 'a/gone'));
  assert.ok(wh.isCharacterDevice());
  assert.equal(wh.rdev, 0);
  await assert.rejects(lstat(join(dir, 'a/.wh.gone')));
  const hasSetfattr = (await run(['sh', '-c', 'command -v getfattr'], { allowFailure: true })).code === 0;
  if (!hasSetfattr) return t.skip('getfattr/setfattr (package attr) not installed');
  const { stdout } = await run(['getfattr', '--only-values', '-n', 'trusted.overlay.opaque', join(dir, 'b')]);
  assert.equal(stdout, 'y');
});

test('unpackLayer never writes through a symlink out of the layer', async (t) => {
  const dir = await tempDir(t);
  const outside = join(dir, 'outside');
  const layer = join(dir, 'layer');
  await mkdir(outside);
  await mkdir(layer);
  const tar = await packTar([
    { name: 'escape', type: 'symlink', linkname: outside },
    { name: 'escape/pwned', content: 'x' },
    { name: 'up', type: 'symlink', linkname: '../../../../..' },
    { name: 'up/pwned2', content: 'y' },
  ]);
  await unpackLayer(Readable.from([tar]), layer);
  await assert.rejects(lstat(join(outside, 'pwned')));
  // The symlink is followed as if the layer were /: the files land inside it.
  assert.equal(await readFile(join(layer, outside, 'pwned'), 'utf8'), 'x');
  assert.equal(await readFile(join(layer, 'pwned2'), 'utf8'), 'y');
});

test('unpackLayer refuses escaping names and hardlinks, and reads gzip input', async (t) => {
  const dir = await tempDir(t);
  const escape = await packTar([{ name: '../evil', content: 'x' }]);
  await assert.rejects(unpackLayer(Readable.from([escape]), dir), /escapes the layer/);
  const badLink = await packTar([{ name: 'l', type: 'link', linkname: '../../etc/passwd' }]);
  await assert.rejects(unpackLayer(Readable.from([badLink]), dir), /escapes the layer/);
  const plain = await packTar([{ name: 'f', content: 'zipped' }]);
  const out = join(dir, 'gz');
  await mkdir(out);
  const { diffId } = await unpackLayer(Readable.from([gzipSync(plain)]), out);
  assert.equal(diffId, `sha256:${createHash('sha256').update(plain).digest('hex')}`, 'diff id is of the uncompressed tar');
  assert.equal(await readFile(join(out, 'f'), 'utf8'), 'zipped');
});

test('unpackLayer rejects a truncated archive', async (t) => {
  const dir = await tempDir(t);
  const tar = await packTar([{ name: 'f', content: 'x'.repeat(2000) }]);
  await assert.rejects(unpackLayer(Readable.from([tar.subarray(0, 1000)]), dir), /invalid tar archive|Unexpected end/);
});
