/**
 * `runcDelete` runs runc only for a container runc still has a state directory for: one the shim
 * already deleted costs no runc run (a runc that always fails stands in to show whether it ran).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runcDelete } from './runc.js';

test('runcDelete skips runc when the container has no state directory, and runs it when it has one', async () => {
  const root = await mkdtemp(join(tmpdir(), 'redes-runc-delete-'));
  try {
    const rc = { root, bin: '/bin/false' };
    await runcDelete(rc, 'gone');
    await mkdir(join(root, 'present'));
    await assert.rejects(runcDelete(rc, 'present'), /false .*failed/);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
