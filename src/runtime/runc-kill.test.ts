/**
 * `runcKill` signals the container's init itself when runc's state file names a live process whose
 * start time matches, and asks runc otherwise (a reused pid is never signalled).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pidStat } from '../kernel/index.js';
import { runcKill } from './runc.js';

const startTime = (pid: number): number => pidStat(pid)?.startTime ?? NaN;

async function withInit(fn: (root: string, pid: number, start: number, exited: Promise<unknown>) => Promise<void>): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'redes-runc-kill-'));
  const child = spawn('sleep', ['30'], { stdio: 'ignore' });
  const exited = once(child, 'exit');
  try {
    await once(child, 'spawn');
    await mkdir(join(root, 'c1'));
    await fn(root, child.pid as number, startTime(child.pid as number), exited);
  } finally {
    child.kill('SIGKILL');
    await rm(root, { recursive: true, force: true });
  }
}

test('the init named by the state file, with its start time, is signalled without runc', async () => {
  await withInit(async (root, pid, start, exited) => {
    await writeFile(join(root, 'c1', 'state.json'), JSON.stringify({ init_process_pid: pid, init_process_start: start }));
    // A runc that always fails: reaching it would throw.
    await runcKill({ root, bin: '/bin/false' }, 'c1', 'KILL');
    const [code, signal] = (await exited) as [number | null, string | null];
    assert.equal(code, null);
    assert.equal(signal, 'SIGKILL');
  });
});

test('a start time that does not match (a reused pid) goes to runc instead', async () => {
  await withInit(async (root, pid, start) => {
    await writeFile(join(root, 'c1', 'state.json'), JSON.stringify({ init_process_pid: pid, init_process_start: start + 1 }));
    await assert.rejects(runcKill({ root, bin: '/bin/false' }, 'c1', 9));
    assert.doesNotThrow(() => process.kill(pid, 0), 'the process was left alone');
  });
});

test('an unknown signal or a missing state file goes to runc', async () => {
  await withInit(async (root, pid, start) => {
    await writeFile(join(root, 'c1', 'state.json'), JSON.stringify({ init_process_pid: pid, init_process_start: start }));
    await assert.rejects(runcKill({ root, bin: '/bin/false' }, 'c1', 'NOPE'));
    await assert.rejects(runcKill({ root, bin: '/bin/false' }, 'c2', 'KILL'));
    assert.doesNotThrow(() => process.kill(pid, 0));
  });
});
