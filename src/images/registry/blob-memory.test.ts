import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BlobMemory } from './blob-memory.js';

const D = `sha256:${'a'.repeat(64)}`;
const B = { digest: `sha256:${'b'.repeat(64)}`, size: 10 };

test('blob memory: remembered repositories survive a reopen; a mount source is another repo of the same registry', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'redes-blobmem-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'push-blobs.json');
  const m = await BlobMemory.open(file);
  assert.equal(m.get(D), undefined);
  await m.remember(D, B, 'reg:5000/team/a');
  await m.remember(D, B, 'other:5000/x/y');
  const again = await BlobMemory.open(file);
  assert.deepEqual(again.get(D), { ...B, repos: ['reg:5000/team/a', 'other:5000/x/y'] });
  assert.equal(again.sourceFor(D, 'reg:5000/team/b'), 'reg:5000/team/a');
  assert.equal(again.sourceFor(D, 'reg:5000/team/a'), undefined, 'never the target itself');
  assert.equal(again.sourceFor(D, 'third:5000/team/a'), undefined, 'never another registry');
  // A new blob for the same layer (another compression) forgets the old holders.
  await again.remember(D, { digest: `sha256:${'c'.repeat(64)}`, size: 11 }, 'reg:5000/team/c');
  assert.deepEqual((await BlobMemory.open(file)).get(D)?.repos, ['reg:5000/team/c']);
});

test('blob memory: a damaged file is forgotten, not an error', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'redes-blobmem-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'push-blobs.json'), '{not json');
  assert.equal((await BlobMemory.open(join(dir, 'push-blobs.json'))).get(D), undefined);
});
