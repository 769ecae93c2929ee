import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { encodeFrame, FrameType } from './shim-protocol.js';
import { ShimStream, type OutputFrame } from './shim-stream.js';

// The socket to the shim, simulated: what is written into it is what the shim "sends".
function fakeShim(): { sock: PassThrough; s: ShimStream } {
  const sock = new PassThrough();
  return { sock, s: new ShimStream(sock, { stdout: true, stderr: true, stdin: false }) };
}

test('output frames reach the reader, then the exit code', async () => {
  const { sock, s } = fakeShim();
  sock.write(encodeFrame(FrameType.stdout, 0n, Buffer.from('hi')));
  sock.write(encodeFrame(FrameType.exit, 3n));
  const got: string[] = [];
  const reading = (async () => {
    for await (const f of s.output as AsyncIterable<OutputFrame>) got.push(`${f.stream}:${f.data.toString()}`);
  })();
  await new Promise((r) => setImmediate(r));
  sock.destroy();
  assert.equal(await s.exited, 3);
  await reading;
  assert.deepEqual(got, ['stdout:hi']);
});

test('discardOutput: the reader is let go, later output is dropped, the exit code still arrives', async () => {
  const { sock, s } = fakeShim();
  sock.write(encodeFrame(FrameType.stdout, 0n, Buffer.from('before')));
  await new Promise((r) => setImmediate(r));
  s.discardOutput();
  const seen: OutputFrame[] = [];
  for await (const f of s.output as AsyncIterable<OutputFrame>) seen.push(f);
  assert.equal(seen.length, 1, 'output ends at once (what was queued before is still delivered)');
  // Far more than the output's high-water mark: nothing may pause the socket.
  for (let i = 0; i < 500; i++) sock.write(encodeFrame(FrameType.stdout, BigInt(i), Buffer.from('late output')));
  sock.write(encodeFrame(FrameType.exit, 7n));
  await new Promise((r) => setImmediate(r));
  sock.destroy();
  assert.equal(await s.exited, 7);
});

test('close() cuts the connection: exited resolves null (no exit code seen)', async () => {
  const { s } = fakeShim();
  s.close();
  assert.equal(await s.exited, null);
});
