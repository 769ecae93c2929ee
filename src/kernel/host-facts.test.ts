import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { cgroupVersion } from './host-facts.js';

test('cgroupVersion says 2 exactly on the mounts of type cgroup2 (read from /proc/mounts)', async () => {
  const mounts = readFileSync('/proc/mounts', 'utf8').trim().split('\n').map((l) => l.split(' '));
  const cg2 = mounts.filter((m) => m[2] === 'cgroup2').map((m) => m[1] ?? '');
  const others = mounts.filter((m) => ['tmpfs', 'proc', 'cgroup'].includes(m[2] ?? '')).map((m) => m[1] ?? '').slice(0, 5);
  assert.ok(cg2.length + others.length > 0);
  for (const p of cg2) assert.equal(await cgroupVersion(p), '2', p);
  for (const p of others) assert.equal(await cgroupVersion(p), '1', p);
});
