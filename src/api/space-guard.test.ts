import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isRedesError } from '../util/index.js';
import { changesState, MIN_FREE_BYTES, passesWhenFull, spaceGuard } from './space-guard.js';

test('reads, waits, attaches, resizes and exec starts change nothing; every other write does', () => {
  for (const [m, p] of [['GET', '/containers/json'], ['HEAD', '/_ping'], ['POST', '/containers/abc/wait'], ['POST', '/containers/abc/attach'],
    ['POST', '/containers/abc/resize'], ['POST', '/exec/e1/start'], ['POST', '/exec/e1/resize'], ['POST', '/auth']]) {
    assert.equal(changesState(m as string, p as string), false, `${m} ${p}`);
  }
  for (const [m, p] of [['POST', '/networks/create'], ['DELETE', '/networks/n1'], ['POST', '/containers/create'], ['POST', '/containers/abc/start'],
    ['POST', '/containers/abc/rename'], ['POST', '/containers/abc/stop'], ['DELETE', '/containers/abc'], ['PUT', '/containers/abc/archive'],
    ['POST', '/containers/kill/start'], ['POST', '/containers/abc/kill'], ['POST', '/images/load']]) {
    assert.equal(changesState(m as string, p as string), true, `${m} ${p}`);
  }
});

test('below the minimum a change is refused as an internal error naming the directory; reads always pass', async () => {
  let free = MIN_FREE_BYTES - 1;
  const guard = spaceGuard(async () => free, '/var/lib/redes/x');
  await guard('GET', '/containers/json');
  await assert.rejects(guard('POST', '/networks/create'), (e: unknown) => {
    assert.ok(isRedesError(e));
    assert.equal(e.kind, 'internal');
    assert.match(e.message, /^no space left on device: \/var\/lib\/redes\/x has 1048575 bytes free/);
    return true;
  });
  free = MIN_FREE_BYTES;
  await guard('POST', '/networks/create');
});

test('on a full disk, kill, stop and removals pass; creations, starts, renames and tags do not', async () => {
  const guard = spaceGuard(async () => 0, '/var/lib/redes/x');
  const pass: Array<[string, string]> = [['POST', '/containers/abc/kill'], ['POST', '/containers/abc/stop'], ['POST', '/containers/abc/wait'],
    ['DELETE', '/containers/abc'], ['DELETE', '/images/sha256:abc'], ['DELETE', '/images/registry.test:5000/a/b:v1'], ['DELETE', '/networks/n1'],
    ['DELETE', '/volumes/v1'], ['POST', '/networks/n1/disconnect'], ['POST', '/containers/prune'], ['POST', '/images/prune'],
    ['POST', '/networks/prune'], ['POST', '/volumes/prune'], ['POST', '/build/prune']];
  for (const [m, p] of pass) {
    assert.equal(passesWhenFull(m, p), true, `${m} ${p}`);
    await guard(m, p);
  }
  const refused: Array<[string, string]> = [['POST', '/containers/create'], ['POST', '/containers/abc/start'], ['POST', '/containers/abc/restart'],
    ['POST', '/containers/abc/rename'], ['POST', '/networks/create'], ['POST', '/networks/n1/connect'], ['POST', '/images/load'],
    ['POST', '/volumes/create'], ['POST', '/containers/kill/start'], ['POST', '/images/abc/tag'], ['PUT', '/containers/abc/archive'],
    ['POST', '/containers/prune/start'], ['POST', '/networks/prune/connect'], ['POST', '/images/create'], ['POST', '/commit']];
  for (const [m, p] of refused) {
    assert.equal(passesWhenFull(m, p), false, `${m} ${p}`);
    await assert.rejects(guard(m, p), /^RedesError: no space left on device/, `${m} ${p}`);
  }
});
