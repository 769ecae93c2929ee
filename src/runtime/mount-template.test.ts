import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fstatSync, statSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { openMountTemplate } from './mount-template.js';

test('the template is a mount namespace of its own, held until closed', async () => {
  const t = await openMountTemplate([]);
  try {
    assert.notEqual(fstatSync(t.fd).ino, statSync('/proc/self/ns/mnt').ino);
    assert.ok(t.alive());
    // Nothing detached: the template sees this directory as we do.
    const ours = statSync('/tmp');
    const theirs = statSync(`${t.root}/tmp`);
    assert.deepEqual([theirs.dev, theirs.ino], [ours.dev, ours.ino]);
  } finally {
    t.close();
  }
  assert.ok(!t.alive());
  for (let i = 0; statSync(t.root, { throwIfNoEntry: false }) && i < 100; i++) await sleep(20);
  assert.equal(statSync(t.root, { throwIfNoEntry: false }), undefined, 'the holder has exited');
});

test('a directory the holder cannot detach: the template is refused with the reason', async () => {
  await assert.rejects(openMountTemplate(['/nonexistent-redes-dir']), /detach \/nonexistent-redes-dir/);
});
