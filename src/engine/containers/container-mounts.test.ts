// -v specs as dockerd parses them: SRC:DST[:MODE], and DST alone for an anonymous volume.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseBind, planMounts, type PlanContext } from './container-mounts.js';
import type { Volumes } from '../../volumes/index.js';

test('a bind, a named volume and a destination alone (anonymous volume)', () => {
  assert.deepEqual(parseBind('/srv/site:/www:ro'), { type: 'bind', source: '/srv/site', destination: '/www', rw: false, mode: 'ro', propagation: 'rprivate', copyData: false });
  assert.deepEqual(parseBind('data:/data'), { type: 'volume', source: 'data', destination: '/data', rw: true, mode: 'z', propagation: '', copyData: true });
  assert.deepEqual(parseBind('/anon/'), { type: 'volume', source: '', destination: '/anon', rw: true, mode: '', propagation: '', copyData: true });
});

test("invalid -v specs get dockerd's texts", () => {
  assert.throws(() => parseBind('/data:ro'), { message: "invalid volume specification: '/data:ro'" });
  assert.throws(() => parseBind('anon'), /invalid mount path: 'anon' mount path must be absolute/);
  assert.throws(() => parseBind('/'), /destination can't be '\/'/);
  assert.throws(() => parseBind('a:b:c:d'), /invalid volume specification: 'a:b:c:d'/);
});

test('Binds ["/x"] plans an anonymous volume with a fresh name', () => {
  const made: unknown[] = [];
  const volumes = {
    create: (req: unknown, anonymous?: boolean) => {
      made.push([req, anonymous]);
      return { id: 'f'.repeat(64) };
    },
    find: () => undefined,
    path: (name: string) => `/var/lib/redes/volumes/${name}/_data`,
  } as unknown as Volumes;
  const ctx: PlanContext = { volumes, mountsOf: () => [], imageVolumes: [] };
  const [p] = planMounts({}, { Binds: ['/anon'] }, ctx);
  assert.deepEqual(made, [[{}, true]]);
  assert.equal(p?.source, 'f'.repeat(64));
  assert.equal(p?.destination, '/anon');
  assert.throws(() => planMounts({}, { Binds: ['/anon', 'v:/anon'] }, ctx), /Duplicate mount point: \/anon/);
});
