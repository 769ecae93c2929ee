// Containers for real: runc + redes-shim with a busybox rootfs, each container in the test's own
// network namespace (rtt-<random>). Needs root; run the test process itself inside a throwaway
// netns too (`nsenter --net=/run/netns/<yours> node --test ...`) to keep off the root namespace.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { attach } from '../../../src/runtime/attach.js';
import { createContainer, isRunning, resize, signalContainer, startContainer, startCreated, waitExit } from '../../../src/runtime/container-process.js';
import { execProcess } from '../../../src/runtime/exec.js';
import { readHostLimits } from '../../../src/runtime/host-limits.js';
import { readLogs } from '../../../src/runtime/logs.js';
import { buildOciSpec, type OciSpecInput } from '../../../src/runtime/oci-spec.js';
import { runcState } from '../../../src/runtime/runc.js';
import type { ShimStream } from '../../../src/runtime/shim-stream.js';
import { shimPid } from '../../../src/runtime/state-files.js';
import { canRunContainers, ensureShim, leftoverCgroups, setupEnv, sweep, writeBundle, type TestEnv } from '../../helpers/runtime.js';

const skip = canRunContainers() ? false : 'needs root, runc and busybox-static';
let env: TestEnv;
let n = 0;

function prepare(args: string[], extra: Partial<OciSpecInput> = {}) {
  const id = `${env.prefix}-${++n}`;
  const spec = buildOciSpec({
    rootfs: env.rootfs,
    args,
    hostname: 'box',
    network: { netnsPath: `/run/netns/${env.netns}` },
    cgroupsPath: `/${env.prefix}/${id}`,
    host: readHostLimits(),
    ...extra,
  });
  const dirs = writeBundle(env, id, spec);
  return { id, runcRoot: env.runcRoot, tty: extra.tty === true, openStdin: false, ...dirs };
}

async function toArray<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

async function collect(s: ShimStream): Promise<{ stdout: string; stderr: string }> {
  const out = { stdout: '', stderr: '' };
  for await (const f of s) out[f.stream] += f.data.toString();
  return out;
}

/** Reads output until `pattern` shows up; returns all read so far. */
async function until(s: ShimStream, pattern: RegExp): Promise<string> {
  let text = '';
  const it = s[Symbol.asyncIterator]();
  while (!pattern.test(text)) {
    const r = await it.next();
    if (r.done) break;
    text += r.value.data.toString();
  }
  return text;
}

async function assertGone(c: { id: string; runcRoot: string; stateDir: string }): Promise<void> {
  assert.equal(await runcState({ root: c.runcRoot }, c.id), null, 'runc state deleted');
  // The shim writes `exit` and then says goodbye to attachers: give it a moment to be gone.
  for (let i = 0; i < 100 && shimPid(c.stateDir) !== null; i++) await new Promise((r) => setTimeout(r, 20));
  assert.equal(shimPid(c.stateDir), null, 'shim exited');
  assert.deepEqual(leftoverCgroups(env.prefix).filter((p) => p.endsWith(c.id)), [], 'cgroups removed');
}

describe('container processes with runc and redes-shim', { skip, timeout: 300_000 }, () => {
  before(async () => {
    await ensureShim();
    env = await setupEnv();
  });
  after(async () => {
    if (!env) return;
    assert.deepEqual(await sweep(env), [], 'nothing left behind');
  });

  test('exit code passes through and the log keeps stdout and stderr apart', async (t) => {
    const c = prepare(['sh', '-c', 'echo out; echo err >&2; exit 3']);
    const t0 = performance.now();
    await createContainer(c);
    const att = await attach(c.stateDir, {});
    await startCreated(c);
    t.diagnostic(`create+start: ${(performance.now() - t0).toFixed(1)} ms`);
    assert.deepEqual(await collect(att), { stdout: 'out\n', stderr: 'err\n' });
    assert.equal(await att.exited, 3);
    assert.equal((await waitExit(c.stateDir)).exitCode, 3);
    const all = [];
    for await (const e of readLogs(c.stateDir)) all.push([e.stream, e.data.toString()]);
    assert.deepEqual(all, [['stdout', 'out\n'], ['stderr', 'err\n']]);
    const errOnly = [];
    for await (const e of readLogs(c.stateDir, { stdout: false })) errOnly.push(e.data.toString());
    assert.deepEqual(errOnly, ['err\n']);
    const [last] = await toArray(readLogs(c.stateDir, { tail: 1 }));
    assert.match(last?.time ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/);
    await assertGone(c);
  });

  test('a container outlives a daemon killed with SIGKILL and its exit is found later', async () => {
    const c = prepare(['sh', '-c', 'echo early; sleep 1; echo late; exit 7']);
    const index = new URL('../../../src/runtime/index.js', import.meta.url).href;
    const script = `const r = await import(${JSON.stringify(index)});
      await r.startContainer(${JSON.stringify(c)}); process.stdout.write('started\\n'); setInterval(() => {}, 1000);`;
    const daemon = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      daemon.stdout.on('data', (b: Buffer) => b.toString().includes('started') && resolve());
      daemon.on('exit', (code) => reject(new Error(`fake daemon exited ${code}`)));
    });
    daemon.kill('SIGKILL');
    assert.equal(isRunning(c.stateDir), true);
    const exit = await waitExit(c.stateDir); // a fresh watcher, from the state dir alone
    assert.equal(exit.exitCode, 7);
    const lines = (await toArray(readLogs(c.stateDir))).map((e) => e.data.toString());
    assert.deepEqual(lines, ['early\n', 'late\n']);
    assert.equal(isRunning(c.stateDir), false);
    await assertGone(c);
  });

  test('stdin reaches a container without a tty (long state path, two attachers)', async () => {
    // Past the 107-byte limit of a unix socket path: connected through /proc/self/fd.
    const c = { ...prepare(['cat']), openStdin: true };
    c.stateDir = join(c.stateDir, 'x'.repeat(100));
    await createContainer(c);
    const att = await attach(c.stateDir, { stdin: true });
    const watcher = await attach(c.stateDir);
    await startCreated(c);
    await att.write('hello\n');
    assert.equal(await until(att, /hello\n/), 'hello\n');
    assert.equal(await until(watcher, /hello\n/), 'hello\n');
    att.stdin?.end();
    assert.equal((await waitExit(c.stateDir)).exitCode, 0);
    await assertGone(c);
  });

  test('a tty container sees /dev/pts/0 and follows resizes', async () => {
    const c = { ...prepare(['sh', '-c', 'tty; stty size; read x; stty size'], { tty: true, consoleSize: { height: 24, width: 80 } }), openStdin: true };
    await createContainer(c);
    const att = await attach(c.stateDir, { stdin: true });
    await startCreated(c);
    assert.match(await until(att, /\d+ \d+\r\n/), /^\/dev\/pts\/0\r\n24 80\r\n$/);
    att.resize(30, 100);
    await att.write('\n');
    assert.match(await until(att, /30 100/), /30 100/);
    assert.equal((await waitExit(c.stateDir)).exitCode, 0);
    await resize(c.stateDir, 1, 1).then(
      () => assert.fail('resize of an exited container'),
      (e: Error) => assert.match(e.message, /not running/),
    );
  });

  test('exec runs with and without a tty and reports its exit code', async (t) => {
    const c = prepare(['sleep', '30']);
    await startContainer(c);
    const t0 = performance.now();
    const p = await execProcess({ id: c.id, runcRoot: c.runcRoot, tty: false, stdin: false, processSpec: { terminal: false, user: { uid: 0, gid: 0 }, args: ['sh', '-c', 'echo hi; echo bad >&2; exit 5'], env: ['PATH=/bin'], cwd: '/' } });
    const out = await collect(p.stream);
    t.diagnostic(`exec until exit: ${(performance.now() - t0).toFixed(1)} ms`);
    assert.deepEqual(out, { stdout: 'hi\n', stderr: 'bad\n' });
    assert.equal(await p.exitCode, 5);

    const tty = await execProcess({ id: c.id, runcRoot: c.runcRoot, tty: true, stdin: true, processSpec: { terminal: true, user: { uid: 0, gid: 0 }, args: ['sh', '-c', 'tty; read x; stty size'], env: ['PATH=/bin'], cwd: '/' } });
    assert.match(await until(tty.stream, /\n/), /^\/dev\/pts\/\d+\r\n$/);
    tty.stream.resize(40, 120);
    await tty.stream.write('\n');
    assert.match((await collect(tty.stream)).stdout, /40 120/);
    assert.equal(await tty.exitCode, 0);

    const cat = await execProcess({ id: c.id, runcRoot: c.runcRoot, tty: false, stdin: true, processSpec: { terminal: false, user: { uid: 0, gid: 0 }, args: ['cat'], env: ['PATH=/bin'], cwd: '/' } });
    await cat.stream.write('piped\n');
    cat.stream.stdin?.end();
    assert.equal((await collect(cat.stream)).stdout, 'piped\n');
    assert.equal(await cat.exitCode, 0);

    await assert.rejects(
      execProcess({ id: c.id, runcRoot: c.runcRoot, tty: false, stdin: false, processSpec: { terminal: false, user: { uid: 0, gid: 0 }, args: ['nosuchcmd'], env: ['PATH=/bin'], cwd: '/' } }),
      /OCI runtime exec failed: .*executable file not found/,
    );
    await signalContainer(c, 'KILL');
    assert.equal((await waitExit(c.stateDir)).exitCode, 137);
    await assertGone(c);
  });

  test('signals reach the init: a TERM trap exits 42, KILL gives 137', async () => {
    const c = prepare(['sh', '-c', 'trap "exit 42" TERM; echo ready; while true; do sleep 0.1; done']);
    await createContainer(c);
    const att = await attach(c.stateDir);
    await startCreated(c);
    await until(att, /ready/);
    await signalContainer(c, 'SIGTERM');
    assert.equal((await waitExit(c.stateDir)).exitCode, 42);
    await assert.rejects(signalContainer(c, 'KILL'), /No such container|is not running/);

    const s = prepare(['sleep', '30']); // PID 1 without a handler ignores TERM
    await startContainer(s);
    await signalContainer(s, 'TERM');
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(isRunning(s.stateDir), true);
    await signalContainer(s, 9);
    assert.equal((await waitExit(s.stateDir)).exitCode, 137);
    await assertGone(s);
  });

  test('the network namespace is the one given by path: same inode, only its lo', async () => {
    const c = prepare(['sh', '-c', 'readlink /proc/self/ns/net; ip -o link']);
    await createContainer(c);
    const att = await attach(c.stateDir);
    await startCreated(c);
    const [ns, ...links] = (await collect(att)).stdout.trim().split('\n');
    assert.equal(ns, `net:[${statSync(`/run/netns/${env.netns}`).ino}]`);
    assert.deepEqual(links.map((l) => l.split(':')[1]?.trim()), ['lo']);
    assert.equal((await waitExit(c.stateDir)).exitCode, 0);
  });

  test('Docker default capabilities and seccomp apply; privileged lifts both', async () => {
    const probe = ['sh', '-c', 'grep CapEff /proc/self/status; grep memory /proc/self/cgroup; unshare -U true && echo userns-ok; mkdir -p /mnt; mount -t tmpfs x /mnt && echo mount-ok; true'];
    const run = async (extra: Partial<OciSpecInput>): Promise<string> => {
      const c = prepare(probe, extra);
      await createContainer(c);
      const a = await attach(c.stateDir, { stderr: false });
      await startCreated(c);
      const { stdout } = await collect(a);
      assert.equal((await waitExit(c.stateDir)).exitCode, 0);
      await assertGone(c);
      return stdout;
    };
    const plain = await run({});
    assert.match(plain, /CapEff:\s+00000000a80425fb/); // Docker's default set
    assert.match(plain, new RegExp(`memory:/${env.prefix}/${env.prefix}-\\d+`));
    assert.doesNotMatch(plain, /userns-ok|mount-ok/);
    const privileged = await run({ privileged: true });
    assert.match(privileged, /mount-ok/);
    assert.match(privileged, /userns-ok/);
  });

  test('an unknown command fails the create with runc message and leaves nothing', async () => {
    const c = prepare(['nosuchcmd']);
    await assert.rejects(createContainer(c), /OCI runtime create failed: .*executable file not found/);
    await assertGone(c);
  });

  test('5 MB of output reaches a slow attacher and the log intact', async () => {
    const c = prepare(['sh', '-c', 'yes 0123456789abcdef | head -c 5000000']);
    await createContainer(c);
    const att = await attach(c.stateDir);
    await startCreated(c);
    let received = 0;
    for await (const f of att) {
      received += f.data.length;
      if (received < 1_000_000) await new Promise((r) => setTimeout(r, 1)); // lag behind at first
    }
    assert.equal(received, 5_000_000);
    assert.equal((await waitExit(c.stateDir)).exitCode, 0);
    let logged = 0;
    for await (const e of readLogs(c.stateDir)) logged += e.data.length;
    assert.equal(logged, 5_000_000);
  });

  test('logs follow a running container until it exits; attach with logs replays first', async () => {
    const c = prepare(['sh', '-c', 'echo one; sleep 0.3; echo two; sleep 0.3; echo three']);
    await startContainer(c);
    const followed: string[] = [];
    for await (const e of readLogs(c.stateDir, { follow: true })) followed.push(e.data.toString());
    assert.deepEqual(followed, ['one\n', 'two\n', 'three\n']);

    const d = prepare(['sh', '-c', 'echo a; sleep 0.5; echo b']);
    await startContainer(d);
    await new Promise((r) => setTimeout(r, 200));
    const att = await attach(d.stateDir, { logs: true });
    assert.equal((await collect(att)).stdout, 'a\nb\n');
    const replay = await attach(d.stateDir, { logs: true }); // exited: the log alone, then the end
    assert.equal((await collect(replay)).stdout, 'a\nb\n');
    await assertGone(d);
  });
});
