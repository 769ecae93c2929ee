import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  killPids,
  pidAlive,
  pidCmdline,
  readPidfile,
  runInherit,
  startDetached,
  stopPid,
  writePidfile,
} from './process.js';

async function tmp(t: { after: (fn: () => Promise<void>) => void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'redes-process-test-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

test('pidAlive is true for this process and false for nonsense pids', async () => {
  assert.equal(await pidAlive(process.pid), true);
  assert.equal(await pidAlive(0), false);
  assert.equal(await pidAlive(-1), false);
  assert.equal(await pidAlive(2 ** 22 + 1), false);
});

test('startDetached returns the pid of a program that outlives the call, and stopPid ends it with TERM', async (t) => {
  const dir = await tmp(t);
  const pid = await startDetached(['sleep', '30'], { logPath: join(dir, 'log') });
  t.after(() => killPids([pid]));
  assert.equal(await pidAlive(pid), true);
  assert.deepEqual(await pidCmdline(pid), ['sleep', '30']);
  assert.equal(await stopPid(pid, { graceMs: 2_000 }), 'terminated');
  assert.equal(await pidAlive(pid), false);
  assert.equal(await stopPid(pid), 'gone');
});

test('stopPid falls back to SIGKILL for a program that ignores SIGTERM', async (t) => {
  const dir = await tmp(t);
  // An ignored signal stays ignored across exec, so sleep ignores TERM too.
  const pid = await startDetached(['sh', '-c', 'trap "" TERM; echo ready; exec sleep 30'], {
    logPath: join(dir, 'log'),
    readyLine: 'ready',
  });
  t.after(() => killPids([pid]));
  assert.equal(await stopPid(pid, { graceMs: 100 }), 'killed');
});

test('startDetached waits for the ready line and fails when the program exits first', async (t) => {
  const dir = await tmp(t);
  const log = join(dir, 'log');
  await assert.rejects(
    startDetached(['sh', '-c', 'echo oops >&2; exit 3'], { logPath: log, readyLine: 'ready' }),
    /exited \(code 3\) before "ready"/,
  );
  assert.equal((await readFile(log, 'utf8')).trim(), 'oops');
  await assert.rejects(
    startDetached(['sleep', '30'], { logPath: log, readyLine: 'ready', readyTimeoutMs: 100 }),
    /no "ready" line within 100 ms/,
  );
});

test('a ready line written in time while the event loop is busy past the deadline still counts', async (t) => {
  const dir = await tmp(t);
  const children = async (): Promise<string[]> => (await readFile(`/proc/self/task/${process.pid}/children`, 'utf8')).split(' ').filter(Boolean);
  const before = new Set(await children());
  const wrote = join(dir, 'wrote');
  const argv = ['sh', '-c', 'sleep 0.1; echo ready; : > "$1"; exec sleep 30', 'sh', wrote];
  const started = startDetached(argv, { logPath: join(dir, 'log'), readyLine: 'ready', readyTimeoutMs: 50 });
  // Once the child exists its 'spawn' has been handled (the deadline's timer is set). Then the loop
  // stays busy (in a check-phase callback) past the deadline and until the line waits in the pipe:
  // the next timers phase finds the deadline due with the line still unread.
  while (!(await children()).some((c) => !before.has(c))) await new Promise((r) => setImmediate(r));
  await new Promise<void>((resolve) =>
    setImmediate(() => {
      const until = Date.now() + 100;
      while (Date.now() < until || !existsSync(wrote));
      resolve();
    }),
  );
  const pid = await started;
  await stopPid(pid, { graceMs: 1000 });
});

test('pidfiles round-trip, and a missing or garbled one reads as undefined', async (t) => {
  const dir = await tmp(t);
  const path = join(dir, 'x.pid');
  assert.equal(await readPidfile(path), undefined);
  await writePidfile(path, 1234);
  assert.equal(await readPidfile(path), 1234);
  await writeFile(path, 'nonsense\n');
  assert.equal(await readPidfile(path), undefined);
});

test('runInherit passes the exit code on, and 128 + signal for a killed program', async () => {
  assert.equal(await runInherit(['sh', '-c', 'exit 5']), 5);
  assert.equal(await runInherit(['sh', '-c', 'kill -TERM $$']), 143);
});
