import { test } from 'node:test';
import assert from 'node:assert/strict';
import { effectiveHealthcheck, nextHealth } from './health.js';

test('CMD, CMD-SHELL and NONE; Docker\'s defaults', () => {
  assert.equal(effectiveHealthcheck({ Healthcheck: { Test: ['NONE'] } }), undefined);
  assert.equal(effectiveHealthcheck({}), undefined);
  assert.deepEqual(effectiveHealthcheck({ Healthcheck: { Test: ['CMD-SHELL', 'curl -f x'] } }), { test: ['/bin/sh', '-c', 'curl -f x'], intervalMs: 30_000, timeoutMs: 30_000, retries: 3, startPeriodMs: 0, startIntervalMs: 5_000 });
  assert.deepEqual(effectiveHealthcheck({ Healthcheck: { Test: ['CMD', 'true'], Interval: 1e9, Retries: 2 } })?.test, ['true']);
  // The image's SHELL runs CMD-SHELL probes, as dockerd's getShell.
  assert.deepEqual(effectiveHealthcheck({ Shell: ['/bin/bash', '-ec'], Healthcheck: { Test: ['CMD-SHELL', 'true'] } })?.test, ['/bin/bash', '-ec', 'true']);
});

test('one success is healthy, Retries failures in a row unhealthy; start-period failures do not count; 5 log entries', () => {
  const hc = effectiveHealthcheck({ Healthcheck: { Test: ['CMD', 'x'], Retries: 2 } })!;
  const p = (exitCode: number) => ({ exitCode, output: '', start: 's', end: 'e' });
  let h = { Status: 'starting' as const, FailingStreak: 0, Log: [] as never[] } as Parameters<typeof nextHealth>[0];
  h = nextHealth(h, p(1), hc, true);
  assert.deepEqual([h.Status, h.FailingStreak], ['starting', 0]);
  h = nextHealth(h, p(0), hc, true);
  assert.equal(h.Status, 'healthy');
  h = nextHealth(h, p(1), hc, false);
  assert.deepEqual([h.Status, h.FailingStreak], ['healthy', 1]);
  h = nextHealth(h, p(1), hc, false);
  assert.deepEqual([h.Status, h.FailingStreak], ['unhealthy', 2]);
  for (let i = 0; i < 5; i++) h = nextHealth(h, p(1), hc, false);
  assert.equal(h.Log.length, 5);
});
