import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseSecurityOptions } from './security-opts.js';

test('security options as Docker parses them, with its errors', () => {
  assert.deepEqual(parseSecurityOptions([]), { noNewPrivileges: false, seccomp: 'default' });
  assert.deepEqual(parseSecurityOptions(['no-new-privileges', 'seccomp=unconfined', 'apparmor=unconfined', 'label=disable']), {
    noNewPrivileges: true, seccomp: 'unconfined', apparmor: 'unconfined',
  });
  assert.equal(parseSecurityOptions(['no-new-privileges:false']).noNewPrivileges, false);
  assert.equal(parseSecurityOptions(['seccomp=builtin']).seccomp, 'default');
  const json = '{"defaultAction":"SCMP_ACT_ALLOW"}';
  assert.deepEqual(parseSecurityOptions([`seccomp=${json}`]).seccomp, { json });
  assert.throws(() => parseSecurityOptions(['label']), /^RedesError: invalid --security-opt 1: "label"$/);
  assert.throws(() => parseSecurityOptions(['unknown=something']), /^RedesError: invalid --security-opt 2: "unknown=something"$/);
  assert.throws(() => parseSecurityOptions(['no-new-privileges=maybe']), /invalid --security-opt 2/);
  assert.throws(() => parseSecurityOptions(['seccomp={bad']), /Decoding seccomp profile failed/);
  assert.throws(() => parseSecurityOptions(['label=type:svirt_t']), /not supported by this engine/);
});
