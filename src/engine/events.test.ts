import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventBus, eventFilter, parseEventTime } from './events.js';

test('container events carry Docker\'s legacy fields and the container\'s attributes', () => {
  const bus = new EventBus();
  const e = bus.emit('container', 'start', 'c'.repeat(64), { image: 'busybox', name: 'web' });
  assert.deepEqual({ status: e.status, id: e.id, from: e.from, Type: e.Type, Action: e.Action, scope: e.scope }, { status: 'start', id: 'c'.repeat(64), from: 'busybox', Type: 'container', Action: 'start', scope: 'local' });
  assert.equal(e.time, Math.floor(e.timeNano / 1e9));
  const n = bus.emit('network', 'connect', 'n1', { container: 'c1', name: 'front', type: 'bridge' });
  assert.equal(n.status, undefined);
});

test('filters: type, event (with details after ": "), container by name, network, label', () => {
  const bus = new EventBus();
  const c = bus.emit('container', 'health_status: healthy', 'a'.repeat(64), { name: 'web', image: 'busybox', tier: 'front' });
  const n = bus.emit('network', 'connect', 'b'.repeat(64), { container: 'a'.repeat(64), name: 'front' });
  assert.equal(eventFilter(JSON.stringify({ event: ['health_status'] }))(c), true);
  assert.equal(eventFilter(JSON.stringify({ type: ['network'] }))(c), false);
  assert.equal(eventFilter(JSON.stringify({ container: ['web'] }))(c), true);
  assert.equal(eventFilter(JSON.stringify({ network: ['front'] }))(n), true);
  assert.equal(eventFilter(JSON.stringify({ network: ['front'] }))(c), false);
  assert.equal(eventFilter(JSON.stringify({ label: ['tier=front'] }))(c), true);
  assert.throws(() => eventFilter(JSON.stringify({ bogus: ['x'] })), /bogus/);
});

test('since/until in unix seconds with a fraction; replay keeps the window', () => {
  assert.equal(parseEventTime('12.5', 'since'), 12.5e9);
  assert.equal(parseEventTime('3', 'until'), 3e9);
  assert.throws(() => parseEventTime('yesterday', 'since'), /invalid value for since/);
  const bus = new EventBus();
  const e = bus.emit('volume', 'create', 'v', { driver: 'local' });
  assert.equal(bus.replay(e.timeNano - 1e6).length, 1);
  assert.equal(bus.replay(e.timeNano + 1e6).length, 0);
});
