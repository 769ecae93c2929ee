import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_JSON_DEPTH, parseJson } from './json.js';

test('parseJson parses what JSON.parse does, up to the depth limit', () => {
  assert.deepEqual(parseJson('{"a":[1,{"b":"[[[{{"}],"c":"\\"["}'), { a: [1, { b: '[[[{{' }], c: '"[' });
  const ok = '['.repeat(MAX_JSON_DEPTH) + ']'.repeat(MAX_JSON_DEPTH);
  assert.ok(Array.isArray(parseJson(ok)));
});

test('parseJson refuses a deeper nesting with a SyntaxError, brackets inside strings do not count', () => {
  const deep = '['.repeat(MAX_JSON_DEPTH + 1) + ']'.repeat(MAX_JSON_DEPTH + 1);
  assert.throws(() => parseJson(deep), (e: Error) => e instanceof SyntaxError && e.message === 'exceeded max depth');
  assert.equal(parseJson(JSON.stringify('['.repeat(5000))), '['.repeat(5000));
  assert.throws(() => parseJson('{'), SyntaxError);
});
