import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lstat, mkdir, mkdtemp, rm, symlink, writeFile, link } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tarStream from 'tar-stream';
import { cleanContainerPath, goFileMode, packTree, resolveScoped, statScoped, type ScopedView } from './tree-tar.js';
import { readTar, drain } from './tar-read.js';

async function withRoot(fn: (root: string, view: ScopedView) => Promise<void>): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'redes-tree-'));
  try {
    await fn(root, { host: (p) => join(root, p) });
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

test('cleanContainerPath makes an absolute, clean path', () => {
  assert.equal(cleanContainerPath('a/../b/'), '/b');
  assert.equal(cleanContainerPath('/'), '/');
  assert.equal(cleanContainerPath('../../etc'), '/etc');
});

test('symlinks resolve inside the scope: absolute targets restart at its root, .. stops there', async () => {
  await withRoot(async (root, view) => {
    await mkdir(join(root, 'etc'));
    await writeFile(join(root, 'etc', 'passwd'), 'inside\n');
    await symlink('/etc', join(root, 'abs'));
    await symlink('../../../../etc', join(root, 'up'));
    await symlink('/nowhere/x', join(root, 'dangling'));
    assert.equal(await resolveScoped(view, '/abs/passwd', false), '/etc/passwd');
    assert.equal(await resolveScoped(view, '/up/passwd', false), '/etc/passwd');
    assert.equal(await resolveScoped(view, '/abs', false), '/abs');
    assert.equal(await resolveScoped(view, '/abs', true), '/etc');
    assert.equal(await resolveScoped(view, '/dangling/y', false), '/nowhere/x/y');
    const st = await statScoped(view, '/abs');
    assert.equal(st?.stat.linkTarget, '/etc');
    assert.equal(st?.stat.name, 'abs');
    assert.equal(await statScoped(view, '/missing'), undefined);
  });
});

test('goFileMode sets Go\'s type bits', async () => {
  await withRoot(async (root) => {
    await writeFile(join(root, 'f'), '');
    await symlink('f', join(root, 'l'));
    assert.equal(goFileMode(await lstat(root)), 2 ** 31 + ((await lstat(root)).mode & 0o777));
    assert.equal(goFileMode(await lstat(join(root, 'l'))), 2 ** 27 + 0o777);
    assert.equal(goFileMode(await lstat('/dev/null')), 2 ** 26 + 2 ** 21 + 0o666);
  });
});

test('packTree archives a tree under a new name, hardlinks once', async () => {
  await withRoot(async (root) => {
    await mkdir(join(root, 'd', 'e'), { recursive: true });
    await writeFile(join(root, 'd', 'e', 'f'), 'abc');
    await link(join(root, 'd', 'e', 'f'), join(root, 'd', 'h'));
    const pack = tarStream.pack();
    const writing = packTree(pack, join(root, 'd'), 'x').then(() => pack.finalize());
    const seen: string[] = [];
    await readTar(pack as unknown as AsyncIterable<Buffer>, async (h, body) => {
      seen.push(`${h.type} ${h.name}${h.linkname ? ` -> ${h.linkname}` : ''}`);
      await drain(body);
    });
    await writing;
    assert.deepEqual(seen, ['directory x/', 'directory x/e/', 'file x/e/f', 'link x/h -> x/e/f']);
  });
});
