import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mergeImageConfig, parseCreateBody } from './container-config.js';

const image = { Cmd: ['sh'], Env: ['PATH=/bin', 'A=1'], ExposedPorts: { '80/tcp': {} }, Labels: { from: 'image' } };

test('the image gives Cmd, Env and ports unless the request overrides them', () => {
  const p = parseCreateBody({ Image: 'busybox', Env: ['A=2', 'B=3'], Labels: { mine: 'yes' } });
  const { config, argv } = mergeImageConfig(p, image, { id: 'abcdef0123456789' });
  assert.deepEqual(argv, ['sh']);
  assert.deepEqual(config.Env, ['PATH=/bin', 'A=2', 'B=3']);
  assert.deepEqual(config.ExposedPorts, { '80/tcp': {} });
  assert.deepEqual(config.Labels, { from: 'image', mine: 'yes' });
  assert.equal(config.Hostname, 'abcdef012345');
});

test('an Entrypoint in the request drops the image Cmd', () => {
  const p = parseCreateBody({ Image: 'busybox', Entrypoint: ['echo'] });
  assert.deepEqual(mergeImageConfig(p, image, { id: 'x'.repeat(64) }).argv, ['echo']);
});

test('no command at all is Docker\'s error', () => {
  const p = parseCreateBody({ Image: 'scratchy' });
  assert.throws(() => mergeImageConfig(p, {}, { id: 'x'.repeat(64) }), /no command specified/);
});

test('container: network mode conflicts with hostname, dns and published ports', () => {
  const base = { Image: 'busybox', HostConfig: { NetworkMode: 'container:c1' } };
  assert.throws(() => parseCreateBody({ ...base, Hostname: 'h' }), /conflicting options: hostname and the network mode/);
  assert.throws(() => parseCreateBody({ ...base, HostConfig: { ...base.HostConfig, Dns: ['1.1.1.1'] } }), /conflicting options: dns and the network mode/);
  assert.throws(
    () => parseCreateBody({ ...base, HostConfig: { ...base.HostConfig, PortBindings: { '80/tcp': [{ HostPort: '80' }] } } }),
    /conflicting options: port publishing and the container type network mode/,
  );
});

test('the default network mode is bridge, and "default" endpoints are the bridge', () => {
  const p = parseCreateBody({ Image: 'busybox', HostConfig: { NetworkMode: 'default' }, NetworkingConfig: { EndpointsConfig: { default: {} } } });
  assert.equal(p.networkMode, 'bridge');
  assert.deepEqual(Object.keys(p.endpointsConfig), ['bridge']);
});
