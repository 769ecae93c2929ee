import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { link, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { run } from '../kernel/run.js';
import { sha256 } from './spec.js';
import { stageLayer } from './stage.js';
import { openSplit } from './tar-split.js';
import { packTar } from './tar-write.js';

async function tempDir(t: { after: (fn: () => Promise<void>) => void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'redes-img-split-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Stage `tar` (fed in odd-sized pieces), rebuild it from the split and the files; the rebuilt bytes. */
async function roundTrip(dir: string, tar: Buffer, gzip = false): Promise<{ rebuilt: Buffer; diffId: string; shadow: string }> {
  const input = gzip ? gzipSync(tar) : tar;
  const pieces: Buffer[] = [];
  for (let i = 0, n = 1; i < input.length; i += n, n = (n * 7 + 3) % 1500 + 1) pieces.push(input.subarray(i, i + n));
  const s = await stageLayer(dir, Readable.from(pieces));
  const split = await openSplit(s.dir, s.split, s.shadow);
  const parts: Buffer[] = [];
  for await (const c of split.stream()) parts.push(c);
  const rebuilt = Buffer.concat(parts);
  assert.equal(split.size, rebuilt.length);
  return { rebuilt, diffId: s.diffId, shadow: s.shadow };
}

test('a GNU tar and a pax tar made by the tar program are rebuilt byte for byte from their splits', async (t) => {
  const dir = await tempDir(t);
  const src = join(dir, 'src');
  const long = `${'d'.repeat(120)}/${'f'.repeat(130)}`;
  await mkdir(join(src, 'etc', long.split('/')[0] ?? ''), { recursive: true });
  await writeFile(join(src, 'etc', long), 'long name\n');
  await writeFile(join(src, 'etc', 'big'), randomBytes(1024 * 1024 + 17));
  await writeFile(join(src, 'etc', 'empty'), '');
  await writeFile(join(src, 'etc', 'odd'), randomBytes(511));
  await link(join(src, 'etc', 'odd'), join(src, 'etc', 'odd.hard'));
  await symlink(`../${'s'.repeat(150)}`, join(src, 'etc', 'longlink'));
  await writeFile(join(src, 'etc', 'ünïcode name'), 'u');
  for (const format of ['gnu', 'posix']) {
    const out = join(dir, `${format}.tar`);
    await run(['tar', `--format=${format}`, '-C', src, '-cf', out, '.']);
    const tar = await readFile(out);
    const stage = join(dir, `stage-${format}`);
    await mkdir(stage);
    const { rebuilt, diffId } = await roundTrip(stage, tar, format === 'posix');
    assert.equal(diffId, sha256(tar), format);
    assert.ok(rebuilt.equals(tar), `${format}: rebuilt tar differs`);
  }
});

test('content that no file keeps (replaced entries, whiteouts with bytes, a file replaced by a directory) comes from the shadow', async (t) => {
  const dir = await tempDir(t);
  const tar = await packTar([
    { name: 'a/', type: 'directory' },
    { name: 'a/x', content: 'first x' },
    { name: 'a/x', content: 'second x, longer' },
    { name: 'b', content: 'b was a file' },
    { name: 'b/', type: 'directory' },
    { name: 'b/inner', content: 'inner' },
    { name: 'c/', type: 'directory' },
    { name: 'c/deep', content: 'deep in c' },
    { name: 'c', content: 'c is now a file' },
    { name: 'a/.wh.gone', content: 'whiteout with bytes' },
  ]);
  const { rebuilt, diffId, shadow } = await roundTrip(dir, tar);
  assert.equal(diffId, sha256(tar));
  assert.ok(rebuilt.equals(tar), 'rebuilt tar differs');
  assert.equal((await readdir(shadow)).length, 4); // first a/x, b, c with c/deep, the whiteout's bytes
});

test('the end of archive padding and null blocks in the middle are kept', async (t) => {
  const dir = await tempDir(t);
  const one = await packTar([{ name: 'one', content: 'x'.repeat(700) }]);
  const two = await packTar([{ name: 'two', content: 'y' }]);
  // tar-stream reads on past zero blocks: a concatenated archive has its second part unpacked too.
  const tar = Buffer.concat([one, two, Buffer.alloc(4096)]);
  const { rebuilt } = await roundTrip(dir, tar);
  assert.ok(rebuilt.equals(tar));
});

test('a layer file changed after staging makes the rebuild fail instead of giving another tar', async (t) => {
  const dir = await tempDir(t);
  const tar = await packTar([{ name: 'f', content: 'twelve bytes' }]);
  const s = await stageLayer(dir, Readable.from([tar]));
  await writeFile(join(s.dir, 'f'), 'short');
  const split = await openSplit(s.dir, s.split, s.shadow);
  await assert.rejects(
    (async () => {
      for await (const _c of split.stream());
    })(),
    /shorter than its tar entry/,
  );
});
