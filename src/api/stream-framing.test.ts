import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DetachScanner, encodeLogLine, fixedNanoTime, frame, FrameDecoder, MULTIPLEXED_STREAM, parseDetachKeys, parseTail, parseUnixTime,
  RAW_STREAM, streamContentType,
} from './stream-framing.js';

test('frame puts the stream byte, three zeros and the big-endian size before the payload', () => {
  const f = frame('stderr', Buffer.from('hello'));
  assert.deepEqual([...f.subarray(0, 8)], [2, 0, 0, 0, 0, 0, 0, 5]);
  assert.equal(f.subarray(8).toString(), 'hello');
  assert.deepEqual([...frame('stdout', Buffer.alloc(300)).subarray(0, 8)], [1, 0, 0, 0, 0, 0, 1, 44]);
});

test('FrameDecoder reads frames split at any byte', () => {
  const bytes = Buffer.concat([frame('stdout', Buffer.from('ab')), frame('stderr', Buffer.from('cde')), frame('stdout', Buffer.alloc(0))]);
  for (let cut = 0; cut <= bytes.length; cut++) {
    const d = new FrameDecoder();
    const got = [...d.push(bytes.subarray(0, cut)), ...d.push(bytes.subarray(cut))];
    assert.deepEqual(got.map((f) => [f.stream, f.data.toString()]), [['stdout', 'ab'], ['stderr', 'cde'], ['stdout', '']]);
    assert.equal(d.buffered, 0);
  }
});

test('content type is multiplexed only without a tty and from API 1.42', () => {
  assert.equal(streamContentType(false, '1.50'), MULTIPLEXED_STREAM);
  assert.equal(streamContentType(false, '1.42'), MULTIPLEXED_STREAM);
  assert.equal(streamContentType(false, '1.41'), RAW_STREAM);
  assert.equal(streamContentType(true, '1.50'), RAW_STREAM);
});

test('since/until take Unix seconds with an optional fraction, in nanoseconds', () => {
  assert.equal(parseUnixTime('1700000000', 'since'), 1_700_000_000_000_000_000n);
  assert.equal(parseUnixTime('1700000000.5', 'since'), 1_700_000_000_500_000_000n);
  assert.equal(parseUnixTime('1700000000.000000001', 'until'), 1_700_000_000_000_000_001n);
  assert.equal(parseUnixTime('0', 'since'), 0n);
  assert.throws(() => parseUnixTime('10m', 'since'), { message: 'invalid value for "since": strconv.ParseInt: parsing "10m": invalid syntax' });
  assert.throws(() => parseUnixTime('12.x', 'until'), { message: 'invalid value for "until": strconv.ParseInt: parsing "x": invalid syntax' });
});

test('tail is a count; "all" or anything else means everything', () => {
  assert.equal(parseTail('5'), 5);
  assert.equal(parseTail('0'), 0);
  assert.equal(parseTail('all'), undefined);
  assert.equal(parseTail('-1'), undefined);
  assert.equal(parseTail(null), undefined);
});

test('log lines carry a fixed nine-digit time prefix and are framed unless tty', () => {
  assert.equal(fixedNanoTime('2026-01-02T03:04:05.12Z'), '2026-01-02T03:04:05.120000000Z');
  assert.equal(fixedNanoTime('2026-01-02T03:04:05Z'), '2026-01-02T03:04:05.000000000Z');
  const line = { stream: 'stderr' as const, data: Buffer.from('x\n'), time: '2026-01-02T03:04:05.123456789Z' };
  assert.equal(encodeLogLine(line, { tty: true, timestamps: true }).toString(), '2026-01-02T03:04:05.123456789Z x\n');
  const framed = encodeLogLine(line, { tty: false, timestamps: false });
  assert.deepEqual(new FrameDecoder().push(framed).map((f) => [f.stream, f.data.toString()]), [['stderr', 'x\n']]);
});

test('detach keys parse like Docker: ctrl names, single characters, default ctrl-p ctrl-q', () => {
  assert.deepEqual([...parseDetachKeys('')], [16, 17]);
  assert.deepEqual([...parseDetachKeys('ctrl-a,x,ctrl-@,ctrl-_')], [1, 120, 0, 31]);
  assert.throws(() => parseDetachKeys('ctrl-1'), { message: 'Invalid detach keys (ctrl-1) provided' });
  assert.throws(() => parseDetachKeys('ab'), { message: 'Invalid detach keys (ab) provided' });
});

test('DetachScanner holds a started sequence, passes a broken one on, and detaches on a full one', () => {
  const s = new DetachScanner(Buffer.from([16, 17]));
  assert.deepEqual(s.push(Buffer.from('ab')), { data: Buffer.from('ab'), detached: false });
  assert.deepEqual(s.push(Buffer.from([0x61, 16])), { data: Buffer.from('a'), detached: false });
  assert.deepEqual(s.push(Buffer.from([0x62])), { data: Buffer.from([16, 0x62]), detached: false });
  assert.deepEqual(s.push(Buffer.from([16, 16])), { data: Buffer.from([16]), detached: false });
  assert.deepEqual(s.push(Buffer.from([17, 0x63])), { data: Buffer.alloc(0), detached: true });
});
