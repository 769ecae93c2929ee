// Registries that ask for credentials, with the docker CLI (its own --config folder, so the
// caller's logins are never touched): a Debian docker-registry with htpasswd (Basic) auth, and one
// with token auth whose Bearer tokens come from a token server in the world (the challenge's realm).
// Anonymous pulls are refused where they must be, login checks the password, push and pull work
// with the CLI's credentials, and a public repository of the token registry pulls anonymously.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSandbox, type Sandbox } from '../helpers/sandbox.js';
import { startExtraRegistry, startWorldTool, USER, type ExtraRegistry, type WorldTool } from '../helpers/registry-tools.js';

let sb: Sandbox;
let config: string;
const stops: (ExtraRegistry | WorldTool)[] = [];
before(async () => {
  sb = await startSandbox(undefined, { prefix: 'rega' });
  config = await mkdtemp(join(tmpdir(), 'redes-docker-config-'));
});
after(async () => {
  for (const s of stops) await s.stop();
  await rm(config, { recursive: true, force: true });
  await sb?.down();
});

/** docker with its own config folder (`anon` = a folder with no login). */
const docker = (args: string[], opts: { allowFail?: boolean; input?: string; dir?: string } = {}): ReturnType<Sandbox['docker']> =>
  sb.docker(['--config', opts.dir ?? config, ...args], { allowFail: opts.allowFail, input: opts.input, timeoutMs: 120_000 });
const imageId = async (ref: string): Promise<string> => (await sb.docker(['image', 'inspect', '-f', '{{.Id}}', ref])).stdout.trim();

async function roundTrip(ref: string): Promise<void> {
  const id = await imageId('busybox');
  await sb.docker(['tag', 'busybox', ref]);
  assert.match((await docker(['push', ref])).stdout, /digest: sha256:[a-f0-9]{64} size: \d+$/m);
  await sb.docker(['rmi', ref]);
  await docker(['pull', ref]);
  assert.equal(await imageId(ref), id);
}

test('basic auth (htpasswd): refused without credentials, login checks the password, push and pull with it', async () => {
  stops.push(await startExtraRegistry(sb, 5002, { htpasswd: true }));
  const anon = await docker(['pull', 'registry.test:5002/team/bb:v1'], { allowFail: true });
  assert.equal(anon.code, 1);
  assert.match(anon.stderr, /no basic auth credentials/);
  const wrong = await docker(['login', 'registry.test:5002', '-u', USER.name, '--password-stdin'], { allowFail: true, input: 'not-it\n' });
  assert.equal(wrong.code, 1);
  assert.match(wrong.stderr, /login attempt to https:\/\/registry\.test:5002\/v2\/ failed with status: 401 Unauthorized/);
  assert.match((await docker(['login', 'registry.test:5002', '-u', USER.name, '--password-stdin'], { input: `${USER.password}\n` })).stdout, /Login Succeeded/);
  await roundTrip('registry.test:5002/team/bb:v1');
});

test('token auth: a Bearer token from the challenge realm; anonymous pull of a public repository, login for the rest', async () => {
  stops.push(await startWorldTool(sb, ['token', '5005']));
  stops.push(await startExtraRegistry(sb, 5001, { token: { realm: 'https://registry.test:5005/token' } }));
  const wrong = await docker(['login', 'registry.test:5001', '-u', USER.name, '--password-stdin'], { allowFail: true, input: 'not-it\n' });
  assert.equal(wrong.code, 1);
  await docker(['login', 'registry.test:5001', '-u', USER.name, '--password-stdin'], { input: `${USER.password}\n` });
  await roundTrip('registry.test:5001/private/bb:v1');
  await sb.docker(['tag', 'busybox', 'registry.test:5001/public/bb:v1']);
  await docker(['push', 'registry.test:5001/public/bb:v1']);
  await sb.docker(['rmi', 'registry.test:5001/public/bb:v1', 'registry.test:5001/private/bb:v1']);
  const anonDir = await mkdtemp(join(tmpdir(), 'redes-docker-anon-'));
  try {
    await docker(['pull', 'registry.test:5001/public/bb:v1'], { dir: anonDir });
    assert.match(await imageId('registry.test:5001/public/bb:v1'), /^sha256:/);
    const denied = await docker(['pull', 'registry.test:5001/private/bb:v1'], { allowFail: true, dir: anonDir });
    assert.equal(denied.code, 1);
    assert.match(denied.stderr, /pull access denied for registry\.test:5001\/private\/bb, repository does not exist or may require 'docker login'/);
    const push = await docker(['push', 'registry.test:5001/public/bb:v1'], { allowFail: true, dir: anonDir });
    assert.equal(push.code, 1, 'an anonymous push is refused');
  } finally {
    await rm(anonDir, { recursive: true, force: true });
  }
});
