import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mapLimited } from './recovery.js';

test('mapLimited keeps the items\' order and never has more than the limit in flight', async () => {
  let inFlight = 0;
  let most = 0;
  const out = await mapLimited([5, 1, 4, 2, 3, 0, 6, 7, 8, 9], 3, async (n) => {
    inFlight++;
    most = Math.max(most, inFlight);
    await new Promise((r) => setTimeout(r, n));
    inFlight--;
    return n * 10;
  });
  assert.deepEqual(out, [50, 10, 40, 20, 30, 0, 60, 70, 80, 90]);
  assert.equal(most, 3);
  assert.deepEqual(await mapLimited([], 3, async () => 1), []);
});

test('mapLimited passes a failure on', async () => {
  await assert.rejects(mapLimited([1, 2, 3], 2, async (n) => {
    if (n === 2) throw new Error('two');
    return n;
  }), /two/);
});
