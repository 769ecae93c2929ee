import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ownGet, ownSet } from './own.js';

test('ownGet sees own entries only, never Object.prototype members', () => {
  const m: Record<string, number> = JSON.parse('{"a":1,"__proto__":2}') as Record<string, number>;
  assert.equal(ownGet(m, 'a'), 1);
  assert.equal(ownGet(m, '__proto__'), 2);
  for (const k of ['toString', 'constructor', 'hasOwnProperty', 'valueOf']) assert.equal(ownGet(m, k), undefined);
});

test('ownSet adds __proto__ as a key: it stays in entries and JSON, the prototype is untouched', () => {
  const m: Record<string, { n: number }> = {};
  ownSet(m, '__proto__', { n: 1 });
  ownSet(m, 'constructor', { n: 2 });
  assert.equal(Object.getPrototypeOf(m), Object.prototype);
  assert.deepEqual(Object.keys(m), ['__proto__', 'constructor']);
  assert.equal(JSON.stringify(m), '{"__proto__":{"n":1},"constructor":{"n":2}}');
  ownSet(m, '__proto__', { n: 3 });
  assert.deepEqual(ownGet(m, '__proto__'), { n: 3 });
  const copy = JSON.parse(JSON.stringify(m)) as Record<string, { n: number }>;
  assert.deepEqual(ownGet(copy, '__proto__'), { n: 3 });
});
