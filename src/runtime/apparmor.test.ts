import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileAppArmorProfile, renderAppArmorProfile } from './apparmor.js';

test('the profile is named, denies mounts and /proc, /sys writes, and lets only its own processes ptrace', () => {
  const text = renderAppArmorProfile('redes-default', { root: '/nonexistent' });
  assert.match(text, /^@\{PROC\}=\/proc\/$/m, 'no tunables: @{PROC} defined here');
  assert.match(text, /^profile redes-default flags=\(attach_disconnected,mediate_deleted\) \{$/m);
  for (const rule of ['deny mount,', 'deny @{PROC}/sysrq-trigger rwklx,', 'deny /sys/firmware/** rwklx,', 'ptrace (trace,read,tracedby,readby) peer=redes-default,']) {
    assert.ok(text.includes(`  ${rule}\n`), rule);
  }
});

test('apparmor_parser compiles the profile without loading it (this kernel has no AppArmor)', async () => {
  await compileAppArmorProfile('redes-unit-default', false);
});
