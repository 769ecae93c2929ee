// attach with logs against a state directory written by hand (no shim: the replay alone): a reader
// that goes away in the middle of the replay ends it, and the log file it held is closed.
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { attach } from './attach.js';
import { encodeFrame, FrameType } from './shim-protocol.js';
import type { OutputFrame } from './shim-stream.js';

/** A state directory whose log holds `n` stdout lines: far more than the output buffers (64 frames). */
function loggedDir(t: { after: (fn: () => void) => void }, n: number): { dir: string; log: string } {
  const dir = mkdtempSync(join(tmpdir(), 'rtt-attach-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const log = join(dir, 'log');
  for (let i = 0; i < n; i++) appendFileSync(log, encodeFrame(FrameType.stdout, 1_700_000_000_000_000_000n + BigInt(i), Buffer.from(`line ${i}\n`)));
  return { dir, log };
}

/** How many descriptors of this process are open on `path`. */
function openOn(path: string): number {
  let n = 0;
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`) === path) n++;
    } catch {
      // closed meanwhile (the directory's own descriptor)
    }
  }
  return n;
}

async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}

test('a reader that reads everything gets every logged line, then the end', async (t) => {
  const { dir, log } = loggedDir(t, 300);
  const a = await attach(dir, { logs: true, stream: false });
  let lines = 0;
  for await (const f of a.output as AsyncIterable<OutputFrame>) if (f.stream === 'stdout') lines++;
  assert.equal(lines, 300);
  await until(() => openOn(log) === 0, 'the log to be closed');
});

for (const how of ['output destroyed (the API, client gone)', 'detached (close)'] as const) {
  test(`attach with logs whose reader leaves during the replay: the replay ends and the log is closed; ${how}`, async (t) => {
    const { dir, log } = loggedDir(t, 300);
    const a = await attach(dir, { logs: true, stream: false });
    // Nobody reads: the replay fills the output and waits for the reader.
    await until(() => openOn(log) === 1 && a.output.readableLength >= a.output.readableHighWaterMark, 'the replay to wait for the reader');
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(openOn(log), 1, 'the replay is stuck waiting, holding the log');
    if (how === 'detached (close)') a.close();
    else {
      a.close();
      a.output.destroy();
    }
    await until(() => openOn(log) === 0, 'the replay to end and close the log');
  });
}
