import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hostArchitecture } from '../images/index.js';
import { checkLocalPlatform, foreignPlatform, parsePlatform, platformQuery } from './platform.js';

test('platform strings are normalized as containerd does for the common spellings', () => {
  assert.deepEqual(parsePlatform('Linux/X86_64'), { os: 'linux', architecture: 'amd64' });
  assert.deepEqual(parsePlatform('linux/arm64/v8'), { os: 'linux', architecture: 'arm64', variant: 'v8' });
  assert.deepEqual(parsePlatform('linux/aarch64'), { os: 'linux', architecture: 'arm64' });
  assert.equal(parsePlatform('linux/a b'), undefined);
  assert.equal(parsePlatform('a/b/c/d'), undefined);
});

test('only the local platform passes; others are refused by name with a 400', () => {
  const local = `linux/${hostArchitecture()}`;
  for (const ok of [null, undefined, '', 'linux', local, local.toUpperCase(), `${local}/v2`]) assert.doesNotThrow(() => checkLocalPlatform(ok, '--platform'));
  const other = hostArchitecture() === 'arm64' ? 'linux/amd64' : 'linux/arm64';
  for (const bad of [other, 'windows/amd64', 'windows', 'darwin']) {
    assert.throws(() => checkLocalPlatform(bad, '--platform'), (e: Error & { status?: number; code?: string }) => {
      assert.match(e.message, new RegExp(`--platform ${bad} is not supported by this engine`));
      return true;
    });
  }
  assert.throws(() => checkLocalPlatform('linux/a b', '--platform'), /unknown operating system or architecture/);
});

test('foreignPlatform: undefined for the local platform in any spelling, the normalized name of another', () => {
  const arch = hostArchitecture();
  for (const local of [null, '', 'linux', `linux/${arch}`, `LINUX/${arch}`, arch === 'amd64' ? 'linux/x86_64' : 'linux/aarch64']) assert.equal(foreignPlatform(local, '--platform'), undefined, String(local));
  const other = arch === 'arm64' ? 'amd64' : 'arm64';
  assert.equal(foreignPlatform(`Linux/${other}`, '--platform'), `linux/${other}`);
  assert.equal(foreignPlatform('linux/aarch64/v8', '--platform'), arch === 'arm64' ? undefined : 'linux/arm64/v8');
  assert.equal(foreignPlatform('windows', '--platform'), 'windows');
  assert.throws(() => foreignPlatform('linux/a b', '--platform'), /unknown operating system or architecture/);
});

test('platformQuery reads the JSON platform of API 1.48+ (save, load) and passes a plain string through', () => {
  assert.equal(platformQuery('{"architecture":"arm64","os":"linux","variant":"v8"}'), 'linux/arm64/v8');
  assert.equal(platformQuery('{"architecture":"amd64","os":"linux"}'), 'linux/amd64');
  assert.equal(platformQuery('linux/amd64'), 'linux/amd64');
  for (const bad of ['{', '{"architecture":"amd64"}', '{"os":3}']) assert.throws(() => platformQuery(bad), /failed to parse platform/, bad);
});
