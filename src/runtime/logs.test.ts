// The log reader and the exit watcher against a state directory written by hand; a `sleep` whose
// cwd is the directory stands in for a live shim (that is how shimPid recognises one).
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { isRunning, waitExit } from './container-process.js';
import { LogFile, readLogs, type LogEntry, type ReadLogsOptions } from './logs.js';
import { encodeFrame, FrameType } from './shim-protocol.js';

const T0 = 1_700_000_000_000_000_000n;

function stateDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'rtt-logs-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function append(dir: string, stream: 'stdout' | 'stderr', atNs: bigint, text: string): void {
  appendFileSync(join(dir, 'log'), encodeFrame(FrameType[stream], atNs, Buffer.from(text)));
}

function fakeShim(dir: string, t: { after: (fn: () => void) => void }): ChildProcess {
  const shim = spawn('sleep', ['30'], { cwd: dir, stdio: 'ignore' });
  writeFileSync(join(dir, 'shim.pid'), `${shim.pid}\n`);
  t.after(() => shim.kill('SIGKILL'));
  return shim;
}

async function read(dir: string, opts: ReadLogsOptions = {}): Promise<[string, string][]> {
  const out: [string, string][] = [];
  for await (const e of readLogs(dir, opts)) out.push([e.stream, e.data.toString()]);
  return out;
}

test('frames become lines: a line split across frames is joined, a last partial line is kept', async (t) => {
  const dir = stateDir(t);
  append(dir, 'stdout', T0, 'a\nb');
  append(dir, 'stderr', T0 + 1n, 'E\n');
  append(dir, 'stdout', T0 + 2n, 'c\nd');
  assert.deepEqual(await read(dir), [['stdout', 'a\n'], ['stderr', 'E\n'], ['stdout', 'bc\n'], ['stdout', 'd']]);
});

test('tail counts the lines of both streams before the stream filter', async (t) => {
  const dir = stateDir(t);
  for (let i = 0; i < 5; i++) append(dir, i % 2 ? 'stderr' : 'stdout', T0 + BigInt(i), `${i}\n`);
  assert.deepEqual(await read(dir, { tail: 2 }), [['stderr', '3\n'], ['stdout', '4\n']]);
  assert.deepEqual(await read(dir, { tail: 2, stderr: false }), [['stdout', '4\n']]);
  assert.deepEqual(await read(dir, { tail: 0 }), []);
  assert.equal((await read(dir, { tail: 99 })).length, 5);
});

test('since and until select by the time a line was read, to the nanosecond', async (t) => {
  const dir = stateDir(t);
  for (let i = 0; i < 5; i++) append(dir, 'stdout', T0 + BigInt(i), `${i}\n`);
  assert.deepEqual((await read(dir, { sinceNs: T0 + 3n })).map(([, l]) => l), ['3\n', '4\n']);
  assert.deepEqual((await read(dir, { untilNs: T0 + 1n })).map(([, l]) => l), ['0\n', '1\n']);
  const [first] = await (async () => {
    const all: LogEntry[] = [];
    for await (const e of readLogs(dir)) all.push(e);
    return all;
  })();
  assert.equal(first?.time, '2023-11-14T22:13:20.000000000Z');
});

test('follow delivers appended lines and ends once the exit is recorded', async (t) => {
  const dir = stateDir(t);
  fakeShim(dir, t);
  append(dir, 'stdout', T0, 'one\n');
  const seen: string[] = [];
  const done = (async () => {
    for await (const e of readLogs(dir, { follow: true })) seen.push(e.data.toString());
  })();
  await new Promise((r) => setTimeout(r, 100));
  append(dir, 'stdout', T0 + 1n, 'two\nthr');
  append(dir, 'stdout', T0 + 2n, 'ee');
  await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual(seen, ['one\n', 'two\n']);
  writeFileSync(join(dir, 'exit'), '{"exitCode":0,"finishedAtNs":"1700000001000000000"}\n');
  await done;
  assert.deepEqual(seen, ['one\n', 'two\n', 'three']);
});

test('waitExit sees an exit written later, and reports a vanished shim as lost', async (t) => {
  const dir = stateDir(t);
  const shim = fakeShim(dir, t);
  assert.equal(isRunning(dir), true);
  const waiting = waitExit(dir);
  setTimeout(() => writeFileSync(join(dir, 'exit'), '{"exitCode":3,"finishedAtNs":"1700000001000000005"}\n'), 50);
  const exit = await waiting;
  assert.deepEqual([exit.exitCode, exit.finishedAt], [3, '2023-11-14T22:13:21.000000005Z']);
  assert.equal(isRunning(dir), false);

  rmSync(join(dir, 'exit'));
  const lost = waitExit(dir);
  shim.kill('SIGKILL');
  const status = await lost;
  assert.deepEqual([status.exitCode, status.lost], [255, true]);
});

/** Starts a new `log` as the shim does when it rotates: log.(n-1) → log.n ... log → log.1, then a segment frame. */
function rotate(dir: string, files: number): void {
  for (let i = files - 1; i >= 1; i--) {
    try {
      renameSync(join(dir, i === 1 ? 'log' : `log.${i - 1}`), join(dir, `log.${i}`));
    } catch {
      // not rotated that often yet
    }
  }
  const base = ['log.1'].map((n) => statSync(join(dir, n)).size)[0] ?? 0;
  const prev = readFileSync(join(dir, 'log.1'));
  const prevBase = prev.readUInt8(0) === FrameType.segment ? Number(prev.readBigUInt64LE(8)) : 0;
  writeFileSync(join(dir, 'log'), encodeFrame(FrameType.segment, BigInt(prevBase + base)));
}

test('rotated files are read oldest first, a line cut by a rotation is joined, offsets count over all files', async (t) => {
  const dir = stateDir(t);
  append(dir, 'stdout', T0, '0\n1');
  rotate(dir, 3);
  append(dir, 'stdout', T0 + 1n, '\n2\n');
  rotate(dir, 3);
  append(dir, 'stdout', T0 + 2n, '3\n');
  assert.deepEqual((await read(dir)).map(([, l]) => l), ['0\n', '1\n', '2\n', '3\n']);
  assert.deepEqual((await read(dir, { tail: 2 })).map(([, l]) => l), ['2\n', '3\n']);
  const file = await LogFile.open(dir);
  const offsets: number[] = [];
  for (let f = await file.read(); f.length > 0; f = await file.read()) offsets.push(...f.filter((x) => x.type === FrameType.stdout).map((x) => x.offset));
  await file.close();
  const sizes = ['log.2', 'log.1'].map((n) => statSync(join(dir, n)).size);
  assert.deepEqual(offsets, [0, (sizes[0] as number) + 16, (sizes[0] as number) + (sizes[1] as number) + 16]);
});

test('follow goes on into the new file after a rotation', async (t) => {
  const dir = stateDir(t);
  const shim = fakeShim(dir, t);
  append(dir, 'stdout', T0, 'before\n');
  const got: string[] = [];
  const done = (async () => {
    for await (const e of readLogs(dir, { follow: true })) {
      got.push(e.data.toString());
      if (got.length === 3) break;
    }
  })();
  await new Promise((r) => setTimeout(r, 100));
  append(dir, 'stdout', T0 + 1n, 'old file\n');
  rotate(dir, 2);
  append(dir, 'stdout', T0 + 2n, 'new file\n');
  await done;
  shim.kill('SIGKILL');
  assert.deepEqual(got, ['before\n', 'old file\n', 'new file\n']);
});
