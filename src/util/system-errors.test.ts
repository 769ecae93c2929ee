// System errors in dockerd's words (Go's *PathError text), with the paths dockerd would show.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { open, rename } from 'node:fs/promises';
import { errorMessage, showPathsAs, wrapError } from './system-errors.js';
import { invalidParameter } from './errors.js';

/** A failure of Node's own, as a write on a full disk raises it (no path: the write is on a descriptor). */
const enospc = (): NodeJS.ErrnoException => Object.assign(new Error('ENOSPC: no space left on device, write'), { errno: -28, code: 'ENOSPC', syscall: 'write' });

test('a Node system error reads as Go\'s `op path: message`', async () => {
  const missing = await open('/nonexistent/redes-test/x').catch((e: unknown) => e);
  assert.equal(errorMessage(missing), 'open /nonexistent/redes-test/x: no such file or directory');
  const moved = await rename('/nonexistent/a', '/nonexistent/b').catch((e: unknown) => e);
  assert.equal(errorMessage(moved), 'rename /nonexistent/a /nonexistent/b: no such file or directory');
  assert.equal(errorMessage(enospc()), 'write: no space left on device');
  assert.equal(errorMessage(Object.assign(enospc(), { syscall: 'writev', path: '/l/f' })), 'write /l/f: no space left on device');
});

test('paths under the host root are shown under what dockerd would show; others and non-system errors are left alone', () => {
  assert.equal(errorMessage(showPathsAs(enospc(), '/var/lib/redes/x/tmp/layer-1', '/', '/var/lib/redes/x/tmp/layer-1/usr/blob')), 'write /usr/blob: no space left on device');
  assert.equal(errorMessage(showPathsAs(Object.assign(enospc(), { path: '/data/c/upper/tmp/f' }), '/data/c/upper/tmp', '/tmp')), 'write /tmp/f: no space left on device');
  assert.equal(errorMessage(showPathsAs(Object.assign(enospc(), { path: '/elsewhere/f' }), '/data', '/')), 'write /elsewhere/f: no space left on device');
  const refused = invalidParameter('image.archive', 'bad');
  assert.equal(showPathsAs(refused, '/data', '/'), refused);
  assert.equal(errorMessage(refused), 'bad');
});

test('a wrapped error has dockerd\'s prefix and keeps the errno code for callers that test it', () => {
  const w = wrapError('failed to register layer', showPathsAs(enospc(), '/s', '/', '/s/blob'));
  assert.equal(errorMessage(w), 'failed to register layer: write /blob: no space left on device');
  assert.equal(w.code, 'ENOSPC');
});
