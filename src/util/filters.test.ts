import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Filters, MAX_ECHO, clipEcho } from './filters.js';

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

test('unparsable or ill-typed filters JSON is Docker\'s bare `invalid filter`, never an echo of the query', () => {
  for (const bad of ['{nope', '[1]', 'null', '"x"', '{"name":"x"}', '{"name":[1]}', '{"name":{"x":1}}', `{${'x'.repeat(5000)}`]) {
    assert.throws(() => Filters.parse(bad), (e: Error & { kind?: string }) => e.kind === 'invalid-parameter' && e.message === 'invalid filter', bad.slice(0, 20));
  }
});

test('a hostile key or value is echoed at most 128 characters, then its length', () => {
  const key = 'k'.repeat(300);
  assert.throws(() => Filters.parse(JSON.stringify({ [key]: ['v'] })).validate(['name']), (e: Error) => e.message === `invalid filter '${'k'.repeat(MAX_ECHO)}... (300 characters)'`);
  assert.throws(() => Filters.parse(JSON.stringify({ until: ['u'.repeat(200)] })).until(), (e: Error) => e.message === `failed to parse value as time or duration: "${'u'.repeat(128)}... (200 characters)"`);
  assert.equal(clipEcho('a'.repeat(MAX_ECHO)), 'a'.repeat(MAX_ECHO));
  assert.equal(clipEcho('é'.repeat(MAX_ECHO + 1)), `${'é'.repeat(MAX_ECHO)}... (129 characters)`);
});
