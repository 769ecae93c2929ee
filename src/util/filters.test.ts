import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Filters } from './filters.js';

test('both JSON forms of filters parse to the same values', () => {
  assert.deepEqual(Filters.parse('{"name":{"foo":true}}').get('name'), ['foo']);
  assert.deepEqual(Filters.parse('{"name":["foo"]}').get('name'), ['foo']);
});

test('an unknown filter key is rejected with Docker text', () => {
  assert.throws(() => Filters.parse('{"colour":{"red":true}}').validate(['name']), /^RedesError: invalid filter 'colour'$/);
});

test('name match is a regular-expression search; driver match is exact', () => {
  const f = Filters.parse('{"name":{"prue":true},"driver":{"bri":true}}');
  assert.equal(f.match('name', 'red_prueba1'), true);
  assert.equal(f.match('name', 'other'), false);
  assert.equal(f.exactMatch('driver', 'bridge'), false);
});

test('label filters match a key or a key=value pair', () => {
  const f = Filters.parse('{"label":{"env":true,"tier=db":true}}');
  assert.equal(f.matchLabels('label', { env: 'x', tier: 'db' }), true);
  assert.equal(f.matchLabels('label', { env: 'x', tier: 'web' }), false);
});

test('bad JSON is an invalid-parameter error', () => {
  assert.throws(() => Filters.parse('{nope'), (e: Error & { kind?: string }) => e.kind === 'invalid-parameter');
});
