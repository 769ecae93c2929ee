import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_LOG_CONFIG, DEFAULT_LOG_LIMIT, fromHumanSize, logLimits, mergeLogConfig } from './log-config.js';

test('sizes read as go-units FromHumanSize (decimal), with its error texts', () => {
  assert.equal(fromHumanSize('100k'), 100_000);
  assert.equal(fromHumanSize('100KB'), 100_000);
  assert.equal(fromHumanSize('1.5m'), 1_500_000);
  assert.equal(fromHumanSize('2 GiB'), 2_000_000_000);
  assert.equal(fromHumanSize('512'), 512);
  assert.equal(fromHumanSize('10b'), 10);
  assert.throws(() => fromHumanSize('abc'), { message: "invalid size: 'abc'" });
  assert.throws(() => fromHumanSize('10x'), { message: "invalid suffix: 'x'" });
  assert.throws(() => fromHumanSize('10kbb'), { message: "invalid suffix: 'kbb'" });
  assert.throws(() => fromHumanSize('-5m'), { message: "invalid size: '-5m'" });
  assert.throws(() => fromHumanSize('1.2.3k'), { message: 'strconv.ParseFloat: parsing "1.2.3": invalid syntax' });
});

test('the daemon defaults merge into a container of the same driver only', () => {
  const daemon = { Type: 'json-file', Config: { 'max-size': '10m', 'max-file': '2' } };
  assert.deepEqual(mergeLogConfig(undefined, daemon), daemon);
  assert.deepEqual(mergeLogConfig({ Type: '', Config: { 'max-file': '4' } }, daemon), { Type: 'json-file', Config: { 'max-file': '4', 'max-size': '10m' } });
  assert.deepEqual(mergeLogConfig({ Type: 'none', Config: {} }, daemon), { Type: 'none', Config: {} });
  assert.deepEqual(mergeLogConfig(null, DEFAULT_LOG_CONFIG), { Type: 'json-file', Config: {} });
});

test('option names are checked at create in dockerd\'s words; what redes lacks is refused by name', () => {
  const create = (Type: string, Config: Record<string, string>): unknown => mergeLogConfig({ Type, Config }, DEFAULT_LOG_CONFIG);
  assert.throws(() => create('json-file', { foo: '1' }), { message: "unknown log opt 'foo' for json-file log driver", kind: "invalid-parameter" } as object);
  assert.throws(() => create('local', { tag: 'x' }), { message: "unknown log opt 'tag' for log driver local" });
  assert.throws(() => create('asdf', {}), { message: "logger: no log driver named 'asdf' is registered" });
  assert.throws(() => create('json-file', { mode: 'fast' }), { message: 'logger: logging mode not supported: fast' });
  assert.throws(() => create('json-file', { 'max-buffer-size': '4m' }), { message: "logger: max-buffer-size option is only supported with 'mode=non-blocking'" });
  assert.throws(() => create('syslog', {}), /log driver "syslog" is not supported/);
  assert.throws(() => create('json-file', { tag: '{{.Name}}' }), /log opt 'tag' is not supported/);
  assert.throws(() => create('json-file', { compress: 'true', 'max-size': '1m', 'max-file': '3' }), /compress=true is not supported/);
  assert.throws(() => create('json-file', { mode: 'non-blocking' }), /non-blocking" is not supported/);
  assert.doesNotThrow(() => create('none', { anything: 'goes' })); // as dockerd: none's options are not checked
  assert.doesNotThrow(() => create('json-file', { 'max-size': 'abc' })); // values are read at start
});

test('values are read at start: rotation limits, Docker\'s start errors, the default limit', () => {
  const start = (Type: string, Config: Record<string, string>): unknown => logLimits({ Type, Config });
  assert.deepEqual(start('json-file', { 'max-size': '100k', 'max-file': '3' }), { keep: true, maxSize: 100_000, maxFile: 3 });
  assert.deepEqual(start('json-file', { 'max-size': '1m' }), { keep: true, maxSize: 1_000_000, maxFile: 1 });
  assert.deepEqual(start('json-file', {}), { keep: true, ...DEFAULT_LOG_LIMIT });
  assert.deepEqual(start('json-file', { 'max-file': '2' }), { keep: true, maxSize: DEFAULT_LOG_LIMIT.maxSize, maxFile: 2 });
  assert.deepEqual(logLimits(undefined), { keep: true, ...DEFAULT_LOG_LIMIT }); // records made before log settings existed
  assert.deepEqual(start('none', {}), { keep: false });
  assert.deepEqual(start('local', {}), { keep: true, maxSize: 20_000_000, maxFile: 5 });
  const prefix = 'failed to create task for container: failed to initialize logging driver: ';
  assert.throws(() => start('json-file', { 'max-size': 'abc' }), { message: `${prefix}invalid size: 'abc'` });
  assert.throws(() => start('json-file', { 'max-size': '0' }), { message: `${prefix}max-size must be a positive number` });
  assert.throws(() => start('json-file', { 'max-file': 'x' }), { message: `${prefix}strconv.Atoi: parsing "x": invalid syntax` });
  assert.throws(() => start('json-file', { 'max-file': '0' }), { message: `${prefix}max-file cannot be less than 1` });
  assert.throws(() => start('json-file', { compress: 'maybe' }), { message: `${prefix}strconv.ParseBool: parsing "maybe": invalid syntax` });
  assert.throws(() => start('json-file', { compress: 'false', 'max-file': '0' }), { message: `${prefix}max-file cannot be less than 1` });
  assert.throws(() => start('local', { 'max-size': 'z' }), { message: `${prefix}invalid value for max-size: z: invalid size: 'z'` });
  assert.throws(() => start('local', { 'max-file': '1' }), { message: `${prefix}compression cannot be enabled when max file count is 1` });
  assert.deepEqual(start('local', { 'max-file': '1', compress: 'false' }), { keep: true, maxSize: 20_000_000, maxFile: 1 });
});
