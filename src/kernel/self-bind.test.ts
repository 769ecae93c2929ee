import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from './run.js';
import { unmountAllUnder } from './mounts.js';
import { parseMountEntries } from './mounts.js';
import { ensureSelfBind, releaseSelfBind, selfBindState } from './self-bind.js';

const INFO = [
  '26 1 254:0 / / rw,relatime - ext4 /dev/vda rw',
  '44 26 254:0 /run/netns /run/netns rw,relatime shared:1 - ext4 /dev/vda rw',
  '50 44 0:4 net:[4026532] /run/netns/x-c-1 rw shared:1 - nsfs nsfs rw',
  '60 26 0:40 / /srv/tmp rw - tmpfs tmpfs rw',
  '61 60 0:40 /data/containers /srv/tmp/data/containers rw - tmpfs tmpfs rw',
  '62 61 0:41 / /srv/tmp/data/containers/abc/rootfs rw - overlay redes-overlay rw',
  '70 26 254:0 /elsewhere /srv/bound rw - ext4 /dev/vda rw',
  '71 26 0:50 / /srv/disk rw - tmpfs tmpfs rw',
  '72 26 254:0 /with\\040space /with\\040space rw - ext4 /dev/vda rw',
  '',
].join('\n');

test('selfBindState tells a self-bind from another mount and sees mounts below', () => {
  const e = parseMountEntries(INFO);
  assert.deepEqual(selfBindState(e, '/run/netns'), { at: 'self-bind', below: true });
  // a self-bind on a filesystem mounted elsewhere: its root is the parent's root plus the relative path
  assert.deepEqual(selfBindState(e, '/srv/tmp/data/containers'), { at: 'self-bind', below: true });
  assert.deepEqual(selfBindState(e, '/srv/bound'), { at: 'other', below: false }); // a bind of another directory
  assert.deepEqual(selfBindState(e, '/srv/disk'), { at: 'other', below: false }); // another filesystem
  assert.deepEqual(selfBindState(e, '/srv/tmp/data'), { at: 'none', below: true });
  assert.deepEqual(selfBindState(e, '/srv/nothing'), { at: 'none', below: false });
  assert.deepEqual(selfBindState(e, '/with space'), { at: 'self-bind', below: false });
});

test('ensureSelfBind binds once (never stacks), refuses to hide mounts, release unmounts it', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'redes-selfbind-test-'));
  const dir = join(root, 'containers');
  await mkdir(join(dir, 'a'), { recursive: true });
  await writeFile(join(dir, 'a', 'file'), 'x');
  t.after(async () => {
    await unmountAllUnder(root).catch(() => undefined);
    await rm(root, { recursive: true, force: true });
  });
  const count = async (): Promise<number> => parseMountEntries(await readFile('/proc/self/mountinfo', 'utf8')).filter((m) => m.mountPoint === dir).length;
  assert.equal(await ensureSelfBind(dir), true);
  assert.equal(await ensureSelfBind(dir), true);
  assert.equal(await count(), 1);
  assert.equal(await readFile(join(dir, 'a', 'file'), 'utf8'), 'x');
  // a mount below: release leaves the bind (a running container's rootfs), then takes it
  await run(['mount', '-t', 'tmpfs', 'redes-test', join(dir, 'a')]);
  assert.equal(await releaseSelfBind(dir), false);
  assert.equal(await count(), 1);
  await run(['umount', join(dir, 'a')]);
  assert.equal(await releaseSelfBind(dir), true);
  assert.equal(await count(), 0);
  // mounts below without a bind: no bind is made over them
  await run(['mount', '-t', 'tmpfs', 'redes-test', join(dir, 'a')]);
  assert.equal(await ensureSelfBind(dir), false);
  assert.equal(await count(), 0);
});
