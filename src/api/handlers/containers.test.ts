// The create body's `name` key (dockerode repeats its query options in the body): accepted when it
// is the query's name, refused by name otherwise.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withoutEchoedName } from './containers.js';

test('a body name equal to the query name is dropped before the field check', () => {
  assert.deepEqual(withoutEchoedName({ Image: 'busybox', name: 'web' }, 'web'), { Image: 'busybox' });
  assert.deepEqual(withoutEchoedName({ Image: 'busybox', name: '' }, ''), { Image: 'busybox' });
  const body = { Image: 'busybox' };
  assert.equal(withoutEchoedName(body, 'web'), body);
});

test('a body name the query does not carry is refused, naming the field', () => {
  assert.throws(() => withoutEchoedName({ Image: 'busybox', name: 'web' }, ''), /Config\.name "web" is not supported by this engine: the container name is the "name" query parameter$/);
  assert.throws(() => withoutEchoedName({ Image: 'busybox', name: 'web' }, 'db'), (e: Error & { code?: string }) => e.code === 'container.body_name' && /\("db" here\)/.test(e.message));
});
