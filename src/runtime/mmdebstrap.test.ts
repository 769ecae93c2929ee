import { test } from 'node:test';
import assert from 'node:assert/strict';
import { debianSources, mmdebstrapArgs, validateDebianInput, DEFAULT_MIRROR } from './mmdebstrap.js';

const base = { suite: 'bookworm', packages: ['nginx-light'], out: '/tmp/x.tar', debCache: '/var/cache/redes/images/debs' };

test('mmdebstrap arguments: the apt variant, the packages, no docs, the suite and its sources last', () => {
  const args = mmdebstrapArgs(base);
  assert.ok(args.includes('--variant=apt'));
  assert.ok(args.includes('--include=nginx-light'));
  assert.ok(args.includes('--dpkgopt=path-exclude=/usr/share/doc/*'));
  assert.ok(args.includes('--hook-dir=/usr/share/mmdebstrap/hooks/merged-usr'));
  assert.ok(args.includes('--setup-hook=sync-in /var/cache/redes/images/debs /var/cache/apt/archives/'));
  const i = args.indexOf('bookworm');
  assert.deepEqual(args.slice(i), [
    'bookworm',
    '/tmp/x.tar',
    `deb ${DEFAULT_MIRROR} bookworm main`,
    `deb ${DEFAULT_MIRROR} bookworm-updates main`,
    'deb http://deb.debian.org/debian-security bookworm-security main',
  ]);
  assert.equal(mmdebstrapArgs({ ...base, packages: [] }).some((a) => a.startsWith('--include')), false);
});

test('sources: unstable has no -updates or -security; another mirror gets no security line', () => {
  assert.deepEqual(debianSources('sid'), [`deb ${DEFAULT_MIRROR} sid main`]);
  assert.deepEqual(debianSources('bookworm', 'http://mirror.example/debian'), [
    'deb http://mirror.example/debian bookworm main',
    'deb http://mirror.example/debian bookworm-updates main',
  ]);
});

test('suites, packages and mirrors that could carry anything but a name are refused', () => {
  for (const suite of ['', 'Bookworm', 'bookworm main', 'a;b', '--help']) {
    assert.throws(() => validateDebianInput(suite, []), /invalid suite/, suite);
  }
  for (const p of ['-x', 'a b', 'nginx,curl', 'A', 'x$(id)', 'x']) {
    assert.throws(() => validateDebianInput('bookworm', [p]), /invalid package name/, p);
  }
  for (const m of ['ftp://x', 'http://a b', 'http://x/"', 'file:///srv']) {
    assert.throws(() => validateDebianInput('bookworm', [], m), /invalid mirror/, m);
  }
  validateDebianInput('bookworm', ['libstdc++6', 'iputils-ping', 'g++-12'], 'https://deb.debian.org:443/debian');
  assert.throws(() => mmdebstrapArgs({ ...base, debCache: '/tmp/a b' }), /invalid deb cache/);
});
