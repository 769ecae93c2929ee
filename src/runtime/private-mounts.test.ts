import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planPrivateMounts, specHostPaths } from './private-mounts.js';

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
