import { test } from 'node:test';
import assert from 'node:assert/strict';
import { caDigest, joinToken, newSecret, newSwarmId, parseJoinToken, secretMatches } from './token.js';
import { describeCert, makeCa, makeKeyAndCsr, signCsr, signedBy } from '../runtime/cluster/pki.js';

test('join tokens have Docker\'s shape and parse back into digest and secret', () => {
  const secret = newSecret();
  const t = joinToken('-----BEGIN CERTIFICATE-----\nabc\n-----END CERTIFICATE-----\n', secret);
  assert.match(t, /^SWMTKN-1-[0-9a-z]{50}-[0-9a-z]{25}$/);
  assert.deepEqual(parseJoinToken(t), { digest: caDigest('-----BEGIN CERTIFICATE-----\nabc\n-----END CERTIFICATE-----'), secret });
  assert.match(newSwarmId(), /^[0-9a-z]{25}$/);
  assert.notEqual(newSecret(), newSecret());
});

test('malformed tokens are refused', () => {
  for (const bad of ['', 'SWMTKN-1-abc-def', `SWMTKN-2-${'a'.repeat(50)}-${'b'.repeat(25)}`, `SWMTKN-1-${'A'.repeat(50)}-${'b'.repeat(25)}`, `SWMTKN-1-${'a'.repeat(50)}-${'b'.repeat(24)}`]) {
    assert.equal(parseJoinToken(bad), undefined, bad);
  }
});

test('the CA digest changes with the CA; secrets compare exactly', () => {
  assert.notEqual(caDigest('a'), caDigest('b'));
  assert.equal(secretMatches('abc', 'abc'), true);
  assert.equal(secretMatches('abc', 'abd'), false);
  assert.equal(secretMatches('abc', 'abcd'), false);
});

test('a node certificate is signed by the cluster CA with the subject the signer chose, not another CA', async () => {
  const ca = await makeCa('swarm-ca');
  const other = await makeCa('swarm-ca');
  const req = await makeKeyAndCsr('pending', 'swarm-worker');
  const cert = await signCsr(ca, req.csrPem, { commonName: 'node1', unit: 'swarm-manager', ips: ['198.51.100.11'] });
  assert.equal(signedBy(cert, ca.certPem), true);
  assert.equal(signedBy(cert, other.certPem), false);
  const d = describeCert(cert);
  assert.equal(d.commonName, 'node1');
  assert.equal(d.unit, 'swarm-manager');
  assert.equal(d.issuer, 'swarm-ca');
  assert.notEqual(caDigest(ca.certPem), caDigest(other.certPem));
  await assert.rejects(signCsr(ca, req.csrPem, { commonName: 'a/b', unit: 'x', ips: [] }), /invalid certificate subject/);
  await assert.rejects(signCsr(ca, req.csrPem, { commonName: 'a', unit: 'x', ips: ['1.2.3.4,DNS:evil'] }), /invalid certificate address/);
});
