/** The bench's pure helpers: how a per-container cost's growth is summed up. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { growth } from './lib.js';

test('growth: a flat series is 1.00 by both measures; a line is read back exactly', () => {
  const flat = growth(Array.from({ length: 1000 }, () => 100), 100);
  assert.deepEqual([flat.ends, flat.fitted, flat.slopePerHundred], [1, 1, 0]);
  // 100 ms at the first container, +1 ms per hundred: 109.99 at the 1000th.
  const line = growth(Array.from({ length: 1000 }, (_, i) => 100 + i / 100), 100);
  assert.ok(Math.abs(line.slopePerHundred - 1) < 1e-9, String(line.slopePerHundred));
  assert.ok(Math.abs(line.fitted - 109.99 / 100) < 1e-9, String(line.fitted));
  // The medians of the end hundreds: about 100.5 and 109.5.
  assert.ok(Math.abs(line.ends - 109.5 / 100.5) < 1e-4, String(line.ends));
});

test('growth: six slow starts among the last ten move the ten-sample view by 45%, these hardly', () => {
  const costs = Array.from({ length: 1000 }, () => 110);
  for (let i = 990; i < 996; i++) costs[i] = 160;
  assert.equal(growth(costs, 10).ends, 160 / 110);
  const g = growth(costs, 100);
  assert.equal(g.ends, 1);
  assert.ok(g.fitted > 1 && g.fitted < 1.02, String(g.fitted));
  assert.throws(() => growth([1], 1), /growth/);
  assert.throws(() => growth([1, 2, 3], 4), /growth/);
});
