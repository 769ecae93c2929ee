// A client that goes away never matters to the daemon: an exec whose client vanishes (raw API
// socket closed, `docker exec` killed, tty detach with ctrl-p ctrl-q) goes on running, its output
// is dropped, and its exit code still reaches exec inspect. The daemon keeps serving throughout
// (the harness fails the file if its log holds an escaped error) and no process file is left.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { DOCKER_BIN, startSandbox, type Sandbox } from '../helpers/sandbox.js';
import { apiRequest, hijack } from '../helpers/engine-api.js';
import { runDetached, waitFor } from '../helpers/containers.js';

let sb: Sandbox;
before(async () => {
  sb = await startSandbox(undefined, { prefix: 'exr' });
  await runDetached(sb, ['--name', 'c1', 'busybox', 'sleep', '3600']);
});
after(() => sb?.down());

interface ExecInspect {
  Running: boolean;
  ExitCode: number | null;
}

async function execCreate(cmd: string[], extra: Record<string, unknown> = {}): Promise<string> {
  const r = await apiRequest(sb.socket, 'POST', '/v1.50/containers/c1/exec', { body: { Cmd: cmd, AttachStdout: true, AttachStderr: true, ...extra } });
  assert.equal(r.status, 201, r.body);
  return r.json<{ Id: string }>().Id;
}

const execInspect = async (id: string): Promise<ExecInspect> => (await apiRequest(sb.socket, 'GET', `/v1.50/exec/${id}/json`)).json<ExecInspect>();

async function exitCodeOf(id: string): Promise<number | null> {
  return waitFor(`exec ${id} to end`, async () => {
    const e = await execInspect(id);
    return e.Running || e.ExitCode === null ? undefined : e.ExitCode; // null: not started yet
  });
}

/** A shell loop that ends once `path` exists in c1 (bounded: 60 s). */
const waitForFile = (path: string): string => `n=0; while [ ! -e ${path} ] && [ $n -lt 600 ]; do sleep 0.1; n=$((n + 1)); done`;

async function assertServing(): Promise<void> {
  assert.ok(await sb.daemonPid(), 'the daemon is running');
  assert.equal((await apiRequest(sb.socket, 'GET', '/_ping')).body, 'OK');
}

test('raw client closes its exec stream early, the process prints later: exit code recorded, daemon up', async () => {
  for (let i = 0; i < 5; i++) {
    const id = await execCreate(['sh', '-c', 'sleep 0.5; echo late; echo more >&2; sleep 0.3; echo again; exit 3']);
    const h = await hijack(sb.socket, `/v1.50/exec/${id}/start`, { Detach: false, Tty: false });
    assert.match(h.head, /^HTTP\/1.1 101 UPGRADED/);
    h.socket.destroy();
    assert.equal(await exitCodeOf(id), 3);
  }
  await assertServing();
});

test('docker exec killed while its process goes on printing: daemon up, exec finishes', async () => {
  for (let i = 0; i < 4; i++) {
    const child = spawn(DOCKER_BIN, ['exec', 'c1', 'sh', '-c', 'sleep 0.6; for i in 1 2 3; do echo tick $i; sleep 0.1; done'], {
      env: { ...process.env, DOCKER_HOST: sb.dockerHost },
      stdio: 'ignore',
    });
    await sleep(300);
    child.kill('SIGKILL');
    await new Promise((r) => child.once('close', r));
  }
  await sleep(1200); // the processes print after their clients are gone
  await assertServing();
  const ps = await sb.docker(['exec', 'c1', 'ps', '-o', 'args']);
  assert.doesNotMatch(ps.stdout, /tick/, 'every exec has ended');
});

test('tty exec detached with ctrl-p ctrl-q: still running, then its exit code', async () => {
  for (let i = 0; i < 3; i++) {
    // It runs until the test lets it go (a fixed sleep could be over before the inspect under load).
    const id = await execCreate(['sh', '-c', `echo ready; ${waitForFile(`/tmp/go-tty-${i}`)}; echo after; exit 5`], { AttachStdin: true, Tty: true });
    const h = await hijack(sb.socket, `/v1.50/exec/${id}/start`, { Detach: false, Tty: true });
    assert.match(h.head, /^HTTP\/1.1 101 UPGRADED/);
    const ended = new Promise<void>((resolve) => {
      h.socket.on('close', () => resolve());
      h.socket.resume();
    });
    h.socket.write(Buffer.from([0x10, 0x11]));
    await ended; // the daemon ends the stream on detach
    assert.equal((await execInspect(id)).Running, true, 'detaching leaves the process running');
    await sb.docker(['exec', 'c1', 'touch', `/tmp/go-tty-${i}`]);
    assert.equal(await exitCodeOf(id), 5);
  }
  await assertServing();
});

test('exec DetachKeys: custom keys detach (ctrl-p ctrl-q then do not), are echoed by inspect, a bad key is a 400', async () => {
  const id = await execCreate(['sh', '-c', `${waitForFile('/tmp/go-keys')}; exit 3`], { AttachStdin: true, Tty: true, DetachKeys: 'ctrl-a,x' });
  assert.equal((await apiRequest(sb.socket, 'GET', `/v1.50/exec/${id}/json`)).json<{ DetachKeys: string }>().DetachKeys, Buffer.from([0x01, 0x78]).toString('base64'));
  const h = await hijack(sb.socket, `/v1.50/exec/${id}/start`, { Detach: false, Tty: true });
  let closed = false;
  const ended = new Promise<void>((resolve) => {
    h.socket.on('close', () => resolve());
    h.socket.resume();
  });
  void ended.then(() => (closed = true));
  h.socket.write(Buffer.from([0x10, 0x11])); // the default keys are only input now
  await sleep(500);
  assert.equal(closed, false, 'ctrl-p ctrl-q did not detach');
  h.socket.write(Buffer.from([0x01, 0x78]));
  await ended;
  assert.equal((await execInspect(id)).Running, true, 'detaching leaves the process running');
  const bad = await apiRequest(sb.socket, 'POST', '/v1.50/containers/c1/exec', { body: { Cmd: ['true'], DetachKeys: 'ctrl-zz' } });
  assert.equal(bad.status, 400);
  assert.match(bad.body, /Invalid detach keys \(ctrl-zz\) provided/);
  await sb.docker(['exec', 'c1', 'touch', '/tmp/go-keys']);
  assert.equal(await exitCodeOf(id), 3);
});

test('no process file of an exec is left in the exec root', async () => {
  const left = await readdir(`/run/redes/${sb.name}/exec`).catch(() => [] as string[]);
  assert.deepEqual(left, []);
});
