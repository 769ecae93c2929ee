// The e2e sandbox helper itself: `await using` disposal, the namespaces it runs commands in, and
// `assertNothingLeft` noticing a leftover.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { run } from '../../src/kernel/run.js';
import { assertNothingLeft, randomSandboxName, startSandbox, type Sandbox } from '../helpers/sandbox.js';

test('random names are valid sandbox names', () => {
  for (let i = 0; i < 100; i++) assert.match(randomSandboxName(), /^e2e[a-z0-9]{6}$/);
  assert.match(randomSandboxName('bench'), /^bench[a-z0-9]{6}$/);
  assert.throws(() => randomSandboxName('toolong'), /invalid sandbox name prefix/);
});

test('await using: a sandbox with its daemon, world and helpers, removed at the end of the block', async () => {
  let name = '';
  {
    await using sb = await startSandbox();
    name = sb.name;
    assert.equal(sb.dockerHost, `unix:///run/redes/${name}/docker.sock`);
    assert.equal((await sb.docker(['network', 'ls', '-q'])).stdout.split('\n').filter(Boolean).length, 3);
    const host = await sb.ipJson(['addr', 'show', 'dev', 'eth0']);
    assert.equal(host[0]?.addr_info?.find((a) => a.family === 'inet')?.local, '203.0.113.2');
    assert.match((await sb.world(['ip', '-br', 'addr', 'show', 'dev', 'uplink'])).stdout, /203\.0\.113\.1\/24/);
    assert.equal((await sb.exec(['cat', '/proc/sys/net/ipv4/ip_forward'])).stdout, '1\n');
    const nft = await sb.nftJson();
    assert.ok(nft?.nftables.some((o) => o.table?.name === name));
    const failed = await sb.docker(['network', 'inspect', 'nosuch'], { allowFail: true });
    assert.equal(failed.code, 1);
    await assert.rejects(sb.docker(['network', 'inspect', 'nosuch']), /network nosuch not found/);
    assert.ok(await sb.daemonPid());
  }
  await assertNothingLeft(name);
});

test('assertNothingLeft names what is left', async (t) => {
  const name = randomSandboxName();
  await run(['ip', 'netns', 'add', `${name}-x`]);
  t.after(() => run(['ip', 'netns', 'delete', `${name}-x`], { allowFailure: true }));
  await assert.rejects(assertNothingLeft(name), new RegExp(`netns ${name}-x`));
});

test('startSandbox(t) removes the sandbox after the test', async (t) => {
  let sb: Sandbox | undefined;
  await t.test('inner', async (t2) => {
    sb = await startSandbox(t2);
    assert.equal((await sb.docker(['version', '--format', '{{.Server.APIVersion}}'])).stdout, '1.50\n');
  });
  assert.ok(sb);
  await assertNothingLeft(sb.name);
});
