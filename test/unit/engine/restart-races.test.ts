// Races between a start (the restart policy's or the user's own) and the user's stop / rm -f, over
// the fake host: the start is held at `runtime.start` (the program about to run) while the user's
// command arrives.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { restartEngine, startEngine, until, type TestEngine } from '../../helpers/engine-harness.js';

const status = (e: TestEngine, id: string): string => e.containers.resolve(id).state.status;
const tick = (ms = 20): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * A running container with `policy` whose program has just ended: the policy's start waits at
 * `runtime.start` until `release(ok)` (ok false: that start fails there).
 */
async function policyStartHeld(e: TestEngine, name: string, policy: string): Promise<{ id: string; release: (ok: boolean) => void; starts: () => number }> {
  const { id } = await e.containers.create(name, { Image: 'busybox', HostConfig: { RestartPolicy: { Name: policy } } });
  await e.containers.start(id);
  const start = e.host.runtime.start;
  let release: (ok: boolean) => void = () => undefined;
  const gate = new Promise<boolean>((r) => (release = r));
  let starts = 0;
  e.host.runtime.start = async (cid) => {
    starts++;
    if (starts === 1 && !(await gate)) throw new Error('runtime start failed (fake)');
    return start(cid);
  };
  e.host.exit(id, 1);
  await until(() => starts === 1, 'the policy to start it again');
  assert.equal(status(e, id), 'restarting');
  return { id, release, starts: () => starts };
}

const actionsOf = (e: TestEngine, id: string, since: number): string[] =>
  e.bus.replay(since).filter((ev) => ev.Type === 'container' && ev.Actor.ID === id).map((ev) => ev.Action);

test('rm -f while the policy is starting the container: it waits for that start, kills, the network goes after the exit; kill, die, destroy', async (t) => {
  const e = await startEngine(t);
  const { id, release, starts } = await policyStartHeld(e, 'alw', 'always');
  const short = id.slice(0, 12);
  const since = Number(BigInt(Date.now()) * 1_000_000n);
  const from = e.host.log.length;
  const removed = e.containers.remove('alw', { force: true, volumes: false, link: false });
  await tick(); // the removal waits behind the start
  release(true);
  await removed;
  const steps = e.host.log.slice(from);
  const kill = steps.indexOf(`runtime.signal ${short} KILL`);
  assert.ok(kill >= 0, `the program is killed: ${steps.join(' | ')}`);
  assert.ok(kill < steps.indexOf('driver.leave bridge eth0'), `the endpoint is left after the kill: ${steps.join(' | ')}`);
  assert.ok(kill < steps.indexOf(`netns.delete tst-c-${short}`), `the namespace goes after the kill: ${steps.join(' | ')}`);
  assert.deepEqual(actionsOf(e, id, since).filter((a) => a !== 'start'), ['kill', 'die', 'destroy']);
  assert.throws(() => e.containers.resolve(id), /No such container/);
  await tick(300); // longer than the policy's first back-off (100 ms)
  assert.equal(starts(), 1, 'no restart after the removal');
  assert.equal(e.host.namespaces.size + e.host.procs.size, 0);
});

test('rm -f of a container waiting for its restart: the restart is cancelled, no kill (nothing runs), destroy', async (t) => {
  const e = await startEngine(t);
  const { id } = await e.containers.create('alw', { Image: 'busybox', HostConfig: { RestartPolicy: { Name: 'always' } } });
  await e.containers.start(id);
  e.host.exit(id, 1);
  await until(() => status(e, id) === 'restarting', 'the restart to be pending');
  const since = Number(BigInt(Date.now()) * 1_000_000n);
  await e.containers.remove('alw', { force: true, volumes: false, link: false });
  assert.deepEqual(actionsOf(e, id, since), ['destroy']);
  await tick(300);
  assert.equal(e.host.namespaces.size, 0);
});

test("rm without force of a restarting container is refused with Docker's text", async (t) => {
  const e = await startEngine(t);
  const { id, release } = await policyStartHeld(e, 'alw', 'always');
  const answer = e.containers.remove('alw', { force: false, volumes: false, link: false }).then(() => 'removed', (err: Error) => err.message);
  await tick();
  release(true);
  assert.equal(await answer, 'cannot remove container "alw": container is restarting: stop the container before removing or force remove');
  await until(() => status(e, id) === 'running', 'the restart to finish');
  assert.equal(await e.containers.stop(id, { timeout: 1 }), true);
});

test('stop while a policy start fails: the stop wins; the container stays down, also after a daemon restart', async (t) => {
  const e = await startEngine(t);
  const { id, release } = await policyStartHeld(e, 'us', 'unless-stopped');
  const stopped = e.containers.stop('us', { timeout: 1 });
  await tick(); // the stop waits behind the start
  release(false);
  assert.equal(await stopped, true);
  assert.equal(status(e, id), 'exited');
  assert.equal(e.containers.resolve(id).state.manuallyStopped, true);
  const again = await restartEngine(e);
  await tick(300);
  assert.equal(again.containers.resolve(id).state.status, 'exited', 'unless-stopped: a stopped container stays down at daemon start');
});

test('stop while a policy start succeeds: the stop wins; stopped, marked, and no later restart', async (t) => {
  const e = await startEngine(t);
  const { id, release, starts } = await policyStartHeld(e, 'us', 'unless-stopped');
  const stopped = e.containers.stop('us', { timeout: 1 });
  await tick();
  release(true);
  assert.equal(await stopped, true);
  assert.equal(status(e, id), 'exited');
  assert.equal(e.containers.resolve(id).state.manuallyStopped, true);
  await tick(300);
  assert.equal(starts(), 1);
  const again = await restartEngine(e);
  await tick(300);
  assert.equal(again.containers.resolve(id).state.status, 'exited');
});

test("stop while the user's own start runs: as dockerd, it waits for that start and stops what it ran", async (t) => {
  const e = await startEngine(t);
  const { id } = await e.containers.create('usr', { Image: 'busybox' });
  const start = e.host.runtime.start;
  let release: () => void = () => undefined;
  const gate = new Promise<void>((r) => (release = r));
  let held = false;
  e.host.runtime.start = async (cid) => {
    held = true;
    await gate;
    return start(cid);
  };
  const started = e.containers.start(id);
  await until(() => held, 'the start to reach the runtime');
  const stopped = e.containers.stop('usr', { timeout: 1 });
  await tick(); // the stop waits behind the start
  release();
  assert.equal(await started, true);
  assert.equal(await stopped, true, 'the stop stopped something (204, not 304)');
  assert.equal(status(e, id), 'exited');
  assert.equal(e.containers.resolve(id).state.manuallyStopped, true);
});

test('stop of a container that does not run answers "not modified" and changes nothing (no stop mark)', async (t) => {
  const e = await startEngine(t);
  const { id } = await e.containers.create('idle', { Image: 'busybox', HostConfig: { RestartPolicy: { Name: 'unless-stopped' } } });
  assert.equal(await e.containers.stop('idle', { timeout: 1 }), false);
  assert.notEqual(e.containers.resolve(id).state.manuallyStopped, true);
  assert.equal(status(e, id), 'created');
});
