// The network controller over the fake host: create and rm keep the store and the driver in step,
// including when the driver's kernel step fails, and the networks are handed back at a restart.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { restartEngine, startEngine } from '../../helpers/engine-harness.js';

test('a network whose driver fails to create it is not kept, and its name and subnet stay free', async (t) => {
  const e = await startEngine(t);
  e.host.failNext('driver.create', new Error('RTNETLINK answers: File exists'));
  await assert.rejects(
    e.networks.create({ Name: 'red1', IPAM: { Config: [{ Subnet: '10.1.1.0/24' }] } }),
    (err: Error) => /failed to create network red1: RTNETLINK answers: File exists/.test(err.message),
  );
  assert.equal(e.networks.all().some((n) => n.name === 'red1'), false);
  assert.throws(() => e.networks.resolve('red1'), /network red1 not found/);

  const { id } = await e.networks.create({ Name: 'red1', IPAM: { Config: [{ Subnet: '10.1.1.0/24' }] } });
  assert.equal(e.networks.get(id)?.ipam.v4?.subnet, '10.1.1.0/24');
  assert.deepEqual(e.host.lines('driver.create'), ['driver.create red1', 'driver.create red1']);
});

test('a network whose driver fails to delete it stays listed, and a second rm removes it', async (t) => {
  const e = await startEngine(t);
  const { id } = await e.networks.create({ Name: 'red2' });
  e.host.failNext('driver.delete', new Error('device busy'));
  await assert.rejects(e.networks.remove('red2'), /device busy/);
  assert.equal(e.networks.get(id)?.name, 'red2');
  await e.networks.remove('red2');
  assert.equal(e.networks.get(id), undefined);
  assert.deepEqual(e.host.lines('driver.delete'), ['driver.delete red2', 'driver.delete red2']);
});

test('rm of a network with a running container on it is refused before the driver is asked', async (t) => {
  const e = await startEngine(t);
  await e.networks.create({ Name: 'red3' });
  const { id } = await e.containers.create('c3', { Image: 'busybox', HostConfig: { NetworkMode: 'red3' } });
  await e.containers.start(id);
  await assert.rejects(e.networks.remove('red3'), /error while removing network: network red3 has active endpoints \(name:"c3"/);
  assert.deepEqual(e.host.lines('driver.delete'), []);
  await e.containers.remove(id, { force: true, volumes: false, link: false });
  await e.networks.remove('red3');
  assert.deepEqual(e.host.lines('driver.delete'), ['driver.delete red3']);
});

test('predefined networks cannot be removed, and every stored network goes back to its driver at a restart', async (t) => {
  const e = await startEngine(t);
  await assert.rejects(e.networks.remove('bridge'), /bridge is a pre-defined network and cannot be removed/);
  await e.networks.create({ Name: 'red4' });
  const again = await restartEngine(e);
  assert.deepEqual(again.host.lines('driver.restore'), ['driver.restore bridge', 'driver.restore bridge,red4']);
  assert.equal(again.networks.all().length, 4);
});
