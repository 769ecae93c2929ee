import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { planPrivateMounts, specHostPaths, templateKeepRoot } from './private-mounts.js';

const C = '/var/lib/redes/x/containers';
const DETACH = [C, '/run/netns'];

test('the rootfs, the joined netns and binds below the detached directories are kept, parents first', () => {
  const plan = planPrivateMounts(DETACH, [
    `${C}/a/rootfs`,
    '/run/netns/x-c-other', // --network container:X: the other container's file
    `${C}/a/hosts`,
    `${C}/b/rootfs/srv`, // a user bind into another container's rootfs
    '/var/lib/redes/x/volumes/v/_data', // not below a detached directory: nothing to keep
    `${C}/a/rootfs`,
  ]);
  assert.deepEqual(plan, {
    keep: ['/run/netns/x-c-other', `${C}/a/hosts`, `${C}/a/rootfs`, `${C}/b/rootfs/srv`],
    detach: DETACH,
  });
});

test('a bind whose source contains a detached directory means no private namespace', () => {
  for (const src of ['/run', '/run/netns', '/', '/var/lib/redes/x', C, '/run/netns/']) {
    assert.equal(planPrivateMounts(DETACH, [`${C}/a/rootfs`, src]), undefined, src);
  }
  assert.notEqual(planPrivateMounts(DETACH, [`${C}/a/rootfs`, '/run/netnsx', `${C}x/y`]), undefined);
});

test('no detached directory, or more paths than the shim takes: no plan', () => {
  assert.equal(planPrivateMounts([], [`${C}/a/rootfs`]), undefined);
  const many = Array.from({ length: 65 }, (_, i) => `${C}/a/f${i}`);
  assert.equal(planPrivateMounts(DETACH, many), undefined);
});

test('specHostPaths names the rootfs, namespace paths and bind sources, not tmpfs or proc', () => {
  const paths = specHostPaths({
    root: { path: `${C}/a/rootfs`, readonly: false },
    linux: { namespaces: [{ type: 'pid' }, { type: 'network', path: '/run/netns/x-c-a' }] } as never,
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc' },
      { destination: '/tmp', type: 'tmpfs', source: 'tmpfs', options: ['nosuid'] },
      { destination: '/etc/hosts', type: 'bind', source: `${C}/a/hosts`, options: ['rbind', 'rprivate', 'rw'] },
      { destination: '/data', type: 'none', source: '/srv/data', options: ['bind'] },
    ],
  });
  assert.deepEqual(paths, [`${C}/a/rootfs`, '/run/netns/x-c-a', `${C}/a/hosts`, '/srv/data']);
});

test('templateKeepRoot: nothing to keep where the template sees what we see', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'redes-keep-'));
  try {
    await writeFile(join(dir, 'f'), 'x');
    const p = await realpath(join(dir, 'f'));
    assert.equal(templateKeepRoot(p, '/proc/self/root'), undefined, 'the same view');
    assert.equal(templateKeepRoot(`${p}-missing`, '/proc/self/root'), undefined, 'missing here: nothing to keep');
    assert.equal(templateKeepRoot('/proc/1/ns/ipc', '/nonexistent'), undefined, '/proc is the same everywhere');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('templateKeepRoot: the first directory the template sees otherwise is kept', async () => {
  // A stand-in template view: a tree that has the first directory of `p` as another directory.
  const fake = await mkdtemp(join(tmpdir(), 'redes-view-'));
  const dir = await mkdtemp(join(tmpdir(), 'redes-keep-'));
  try {
    const p = await realpath(dir);
    const first = `/${p.split('/')[1]}`;
    await mkdir(join(fake, first), { recursive: true });
    assert.equal(templateKeepRoot(p, fake), first);
    assert.equal(templateKeepRoot(p, join(fake, 'nothing-there')), first, 'missing in the template');
  } finally {
    await rm(fake, { recursive: true, force: true });
    await rm(dir, { recursive: true, force: true });
  }
});
