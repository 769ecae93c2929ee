import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ContainerRecord } from './container-types.js';
import { checkRestartPolicy, RestartBackoff, shouldRestart, startsWithDaemon, timeMs } from './restart-policy.js';

const rec = (name: string, exitCode: number, more: Partial<ContainerRecord['state']> = {}, restartCount = 0, max = 0): ContainerRecord =>
  ({ id: 'c1', hostConfig: { RestartPolicy: { Name: name, MaximumRetryCount: max } }, state: { exitCode, ...more }, restartCount }) as unknown as ContainerRecord;

test('the policies decide as dockerd does', () => {
  assert.equal(shouldRestart(rec('no', 1)), false);
  assert.equal(shouldRestart(rec('always', 0)), true);
  assert.equal(shouldRestart(rec('unless-stopped', 0, { manuallyStopped: true })), false);
  assert.equal(shouldRestart(rec('on-failure', 0)), false);
  assert.equal(shouldRestart(rec('on-failure', 2, {}, 2, 3)), true);
  assert.equal(shouldRestart(rec('on-failure', 2, {}, 3, 3)), false);
  assert.equal(startsWithDaemon(rec('always', 0, { manuallyStopped: true })), true);
  assert.equal(startsWithDaemon(rec('unless-stopped', 0, { manuallyStopped: true })), false);
});

test('back-off doubles from 100 ms to a minute and starts over after a 10 s run', () => {
  const b = new RestartBackoff();
  const r = rec('always', 1);
  const delays = Array.from({ length: 12 }, () => b.afterExit(r, 50));
  assert.deepEqual(delays.slice(0, 4), [100, 200, 400, 800]);
  assert.equal(delays.at(-1), 60_000);
  assert.equal(b.afterExit(r, 10_000), 100);
  assert.equal(b.afterExit(rec('no', 1), 0), undefined);
});

test('Docker\'s texts for bad policies', () => {
  assert.throws(() => checkRestartPolicy({ RestartPolicy: { Name: 'sometimes' } }), /unknown policy 'sometimes'/);
  assert.throws(() => checkRestartPolicy({ RestartPolicy: { Name: 'always', MaximumRetryCount: 2 } }), /can only be used with 'on-failure'/);
  assert.throws(() => checkRestartPolicy({ RestartPolicy: { Name: 'always' }, AutoRemove: true }), /can't create 'AutoRemove' container with restart policy/);
  checkRestartPolicy({ RestartPolicy: { Name: 'on-failure', MaximumRetryCount: 5 } });
});

test('times with nanoseconds parse to milliseconds', () => {
  assert.equal(timeMs('2026-12-03T16:00:00.123456789Z') - timeMs('2026-12-03T16:00:00Z'), 123);
  assert.equal(timeMs('0001-01-01T00:00:00Z'), 0);
});
