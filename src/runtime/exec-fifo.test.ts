/**
 * `startThroughFifo` does runc's start through the exec fifo: it lets a waiting init go (early or
 * late), removes the fifo, and answers "ask runc" when the init or the fifo is not there.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pidStat, run } from '../kernel/index.js';
import { startThroughFifo } from './exec-fifo.js';

interface FakeInit {
  root: string;
  fifo: string;
  /** A file the fake init writes once it got past the fifo ("exec'd its program"). */
  went: string;
  child: ChildProcess;
}

/** A created container as runc leaves it: state.json naming the init, the init waiting to write exec.fifo after `delay` s. */
async function withInit(delay: number, fn: (f: FakeInit) => Promise<void>, program = 'exec sleep 30'): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'redes-exec-fifo-'));
  const dir = join(root, 'c1');
  await mkdir(dir);
  const fifo = join(dir, 'exec.fifo');
  await run(['mkfifo', fifo]);
  const went = join(root, 'went');
  // As runc init: open the fifo for writing (blocks until a reader), write one byte, then "exec".
  const child = spawn('sh', ['-c', `sleep "$1"; printf 0 > "$2"; echo yes > "$3"; ${program}`, 'sh', String(delay), fifo, went], { stdio: 'ignore' });
  try {
    await once(child, 'spawn');
    const pid = child.pid as number;
    await writeFile(join(dir, 'state.json'), JSON.stringify({ init_process_pid: pid, init_process_start: pidStat(pid)?.startTime }));
    await fn({ root, fifo, went, child });
  } finally {
    child.kill('SIGKILL');
    await rm(root, { recursive: true, force: true });
  }
}

test('a waiting init is let go, and the fifo is removed (runc calls that running)', async () => {
  await withInit(0, async ({ root, fifo, went }) => {
    await new Promise((r) => setTimeout(r, 100)); // the init is blocked in its open by now
    assert.equal(await startThroughFifo(root, 'c1'), true);
    assert.equal(existsSync(fifo), false);
    assert.equal((await readFile(went, 'utf8')).trim(), 'yes');
  });
});

test('an init that reaches the fifo after the reader is still let go', async () => {
  await withInit(0.3, async ({ root, fifo, went }) => {
    assert.equal(await startThroughFifo(root, 'c1'), true);
    assert.equal(existsSync(fifo), false);
    assert.equal((await readFile(went, 'utf8')).trim(), 'yes');
  });
});

test('a program that exits at once while the event loop is busy still counts as started', async () => {
  // The CI failure this guards: `docker run --rm ... cat /etc/resolv.conf` under load. The init
  // wrote its byte and its program exited before the loop read the fifo; the watch timer ran first,
  // saw the init gone and answered "ask runc", and runc no longer knew the container.
  await withInit(
    0,
    async ({ root, fifo, went }) => {
      await new Promise((r) => setTimeout(r, 100)); // the init is blocked in its open by now
      const started = startThroughFifo(root, 'c1'); // opens the reader: the init writes and exits
      const until = Date.now() + 400;
      while (Date.now() < until || !existsSync(went)); // a busy loop: the watch timer falls due
      await new Promise((r) => setTimeout(r, 50)); // the init is gone (a zombie or reaped)
      assert.equal(await started, true);
      assert.equal(existsSync(fifo), false);
    },
    'exit 0',
  );
});

test('a program that ran and whose container was deleted between our two opens of the fifo counts as started', async () => {
  // The CI failure this guards (docs, `docker run --rm --net red_interna busybox wget ...` under
  // load): our read end let the init through, its program failed at once, and the shim had runc
  // delete the container, fifo and all, before the daemon opened the write end.
  await withInit(
    0,
    async ({ root, fifo }) => {
      await new Promise((r) => setTimeout(r, 100)); // the init is blocked in its open by now
      const afterReader = (): void => {
        const until = Date.now() + 5_000;
        while (existsSync(fifo) && Date.now() < until); // the init writes its byte, then the fifo goes
      };
      assert.equal(await startThroughFifo(root, 'c1', { afterReader }), true);
      assert.equal(existsSync(fifo), false);
    },
    'rm -f "$2"',
  );
});

test('an init that dies before writing, a missing fifo or state file, or an odd id: runc is asked', async () => {
  await withInit(5, async ({ root, fifo, child }) => {
    const started = startThroughFifo(root, 'c1');
    child.kill('SIGKILL');
    await once(child, 'exit');
    assert.equal(await started, false);
    assert.equal(existsSync(fifo), true, 'the fifo is left for runc');
    assert.equal(await startThroughFifo(root, 'c1'), false, 'a dead init is not started');
    assert.equal(await startThroughFifo(root, 'c2'), false);
    assert.equal(await startThroughFifo(root, '../c1'), false);
  });
  await withInit(0, async ({ root, fifo }) => {
    await rm(fifo);
    assert.equal(await startThroughFifo(root, 'c1'), false);
  });
});
