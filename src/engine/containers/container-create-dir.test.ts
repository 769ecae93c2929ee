import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { withContainerDir } from './container-create.js';

test('a record that cannot be written (a full disk) takes the new container directory with it', async () => {
  const root = await mkdtemp(join(tmpdir(), 'redes-cdir-'));
  try {
    const dir = join(root, 'c1');
    await assert.rejects(withContainerDir(dir, () => { throw new Error('database or disk is full'); }), /disk is full/);
    await assert.rejects(stat(dir), { code: 'ENOENT' });
    await withContainerDir(dir, () => undefined);
    assert.ok((await stat(join(dir, 'state'))).isDirectory());
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
