/**
 * The shared exit poller: a bounded number of checks per tick, round robin, stop on demand.
 */
import { test, mock } from 'node:test';
import assert from 'node:assert/strict';
import { pollForExit, pollingCount } from './exit-poller.js';

test('each tick runs at most 200 checks, round robin, and a stopped check never runs again', () => {
  mock.timers.enable({ apis: ['setInterval'] });
  try {
    const runs = new Array<number>(300).fill(0);
    const stops = runs.map((_, i) => pollForExit(() => void runs[i]!++));
    assert.equal(pollingCount(), 300);
    mock.timers.tick(1000);
    assert.equal(runs.filter((n) => n === 1).length, 200);
    assert.deepEqual(runs.slice(200), new Array<number>(100).fill(0));
    mock.timers.tick(1000); // the 100 not yet checked come first, then 100 of the first round
    assert.deepEqual(runs.slice(200), new Array<number>(100).fill(1));
    assert.equal(runs.filter((n) => n === 2).length, 100);
    stops[250]!();
    mock.timers.tick(2000);
    assert.equal(runs[250], 1);
    for (const stop of stops) stop();
    assert.equal(pollingCount(), 0);
  } finally {
    mock.timers.reset();
  }
});

test('a check that throws does not stop the others', () => {
  mock.timers.enable({ apis: ['setInterval'] });
  try {
    let ran = 0;
    const a = pollForExit(() => {
      throw new Error('unreadable');
    });
    const b = pollForExit(() => void ran++);
    mock.timers.tick(1000);
    assert.equal(ran, 1);
    a();
    b();
  } finally {
    mock.timers.reset();
  }
});

test('a check may stop itself and another one during the tick', () => {
  mock.timers.enable({ apis: ['setInterval'] });
  try {
    let secondRan = false;
    let stopSecond = (): void => undefined;
    const stopFirst = pollForExit(() => {
      stopFirst();
      stopSecond();
    });
    stopSecond = pollForExit(() => {
      secondRan = true;
    });
    mock.timers.tick(1000);
    assert.equal(secondRan, false);
    assert.equal(pollingCount(), 0);
  } finally {
    mock.timers.reset();
  }
});
