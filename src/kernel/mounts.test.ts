import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from './run.js';
import { mountsUnder, parseMountinfo, unmountAllUnder } from './mounts.js';

test('parseMountinfo reads the mount point field and its octal escapes', () => {
  const text = [
    '36 35 98:0 /mnt1 /mnt/with\\040space rw,noatime master:1 - ext3 /dev/root rw',
    '37 35 0:5 / /run rw - tmpfs tmpfs rw',
    '',
  ].join('\n');
  assert.deepEqual(parseMountinfo(text), ['/mnt/with space', '/run']);
});

test('mounts under a directory are listed deepest first and all removed, a busy one lazily', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'redes-mounts-test-'));
  t.after(async () => {
    await unmountAllUnder(dir).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  });
  const a = join(dir, 'a');
  await mkdir(a);
  await run(['mount', '-t', 'tmpfs', 'redes-test', a]);
  await mkdir(join(a, 'b'));
  await run(['mount', '-t', 'tmpfs', 'redes-test', join(a, 'b')]);
  await run(['mount', '-t', 'tmpfs', 'redes-test', join(a, 'b')]); // stacked on the same point
  assert.deepEqual(await mountsUnder(dir), [join(a, 'b'), join(a, 'b'), a]);
  assert.deepEqual(await mountsUnder(`${dir}/`), await mountsUnder(dir));
  assert.deepEqual(await mountsUnder(`${a}x`), []);

  // A process whose working directory is inside keeps the mount busy: plain umount fails.
  const busy = spawn('sleep', ['30'], { cwd: join(a, 'b'), stdio: 'ignore' });
  t.after(() => busy.kill('SIGKILL'));
  await new Promise((r) => busy.once('spawn', r));
  await unmountAllUnder(dir);
  assert.deepEqual(await mountsUnder(dir), []);
});
