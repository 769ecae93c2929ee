import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mountsUnder } from './mounts.js';
import { mountFs, unmountFs } from './syscalls.js';

test('a filesystem is mounted with relative options from a cwd, unmounted, and a busy one detached', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'redes-syscalls-test-'));
  const target = join(dir, 'mnt');
  t.after(async () => {
    await unmountFs(target).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  });
  for (const d of ['low', 'up', 'work', 'mnt']) await mkdir(join(dir, d));
  await writeFile(join(dir, 'low', 'f'), 'lower');
  const before = process.cwd();
  await mountFs({ source: 'redes-test', target, type: 'overlay', options: 'lowerdir=low,upperdir=up,workdir=work', cwd: dir });
  assert.equal(process.cwd(), before, 'the daemon keeps its working directory');
  assert.equal(await readFile(join(target, 'f'), 'utf8'), 'lower');
  assert.deepEqual(await mountsUnder(dir), [target]);
  await assert.rejects(mountFs({ source: 'redes-test', target, type: 'overlay', options: 'lowerdir=missing', cwd: dir }), (e: NodeJS.ErrnoException) => e.code === 'ENOENT' && /^mount .*mnt: /.test(e.message));

  const busy = spawn('sleep', ['30'], { cwd: target, stdio: 'ignore' });
  t.after(() => busy.kill('SIGKILL'));
  await new Promise((r) => busy.once('spawn', r));
  await unmountFs(target);
  assert.deepEqual(await mountsUnder(dir), []);
  await assert.rejects(unmountFs(target), (e: NodeJS.ErrnoException) => e.code === 'EINVAL');
});
