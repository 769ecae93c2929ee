// Legacy links through the default bridge with ICC off (dockerd's `--icc=false`): a linked parent
// reaches its target's exposed ports and nothing else; an unlinked container reaches nothing; the
// `links4` elements follow the target's stop and start and leave with the parent.
// The daemon gets `--icc=false` through `redes sandbox up --daemon-arg`.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startSandbox, type Sandbox } from '../helpers/sandbox.js';
import { inspectContainer, runDetached, waitFor } from '../helpers/containers.js';

let sb: Sandbox;
before(async () => {
  sb = await startSandbox(undefined, { prefix: 'lnkicc', daemonArgs: ['--icc=false'] });
});
after(async () => {
  await sb?.down();
});

const T = { timeoutMs: 20_000 };
const ip = async (name: string): Promise<string> => (await inspectContainer(sb, name)).NetworkSettings.IPAddress;

/** HTTP GET from inside `from`; true when the page came back within 2 s. */
async function reaches(from: string, url: string): Promise<boolean> {
  const r = await sb.docker(['exec', from, 'timeout', '2', 'wget', '-q', '-O', '-', url], { ...T, allowFail: true });
  return r.code === 0 && r.stdout.includes('page');
}

async function linkElements(): Promise<string> {
  return (await sb.exec(['nft', 'list', 'set', 'inet', sb.name, 'links4'])).stdout;
}

/** The `links4` element parent → target port 80/tcp, as `nft list` prints it. */
const element = (parent: string, target: string): RegExp => new RegExp(`${parent.replaceAll('.', '\\.')} \\. ${target.replaceAll('.', '\\.')} \\. tcp \\. 80`);

const SERVE = 'mkdir -p /www && echo page > /www/index.html && httpd -p 80 -h /www && httpd -p 81 -h /www && exec sleep 3600';

test('the default bridge shows enable_icc false', async () => {
  const opts = JSON.parse((await sb.docker(['network', 'inspect', '-f', '{{json .Options}}', 'bridge'], T)).stdout) as Record<string, string>;
  assert.equal(opts['com.docker.network.bridge.enable_icc'], 'false');
});

test('a linked parent reaches the exposed port only; an unlinked container reaches nothing', async () => {
  await runDetached(sb, ['--name', 'target', '--expose', '80', 'busybox', 'sh', '-c', SERVE]);
  await runDetached(sb, ['--name', 'parent', '--link', 'target:web', 'busybox', 'sleep', '3600']);
  await runDetached(sb, ['--name', 'other', 'busybox', 'sleep', '3600']);
  const [a, b] = [await ip('parent'), await ip('target')];
  assert.match(await linkElements(), element(a, b));
  await waitFor('target serves', async () => (await sb.docker(['exec', 'target', 'timeout', '2', 'wget', '-q', '-O', '-', 'http://127.0.0.1:81/'], { ...T, allowFail: true })).code === 0);
  assert.equal(await reaches('parent', 'http://web:80/'), true, 'linked, exposed port');
  assert.equal(await reaches('parent', 'http://web:81/'), false, 'linked, port not exposed');
  assert.equal(await reaches('other', `http://${b}:80/`), false, 'not linked');
  assert.equal(await reaches('target', `http://${a}:80/`), false, 'a link is one-way');
});

test('the elements follow the target: gone while it is stopped, back at its new start', async () => {
  await sb.docker(['stop', '-t', '1', 'target'], T);
  assert.doesNotMatch(await linkElements(), / \. tcp \. 80/);
  await sb.docker(['start', 'target'], T);
  const [a, b] = [await ip('parent'), await ip('target')];
  assert.match(await linkElements(), element(a, b));
  await waitFor('parent reaches target again', async () => reaches('parent', `http://${b}:80/`));
});

test('a daemon killed and started again programs the elements again', async () => {
  await sb.kill9Daemon();
  await sb.restartDaemon();
  const [a, b] = [await ip('parent'), await ip('target')];
  assert.match(await linkElements(), element(a, b));
  assert.equal(await reaches('parent', `http://${b}:80/`), true);
});

test('docker rm -f of the parent removes its elements', async () => {
  await sb.docker(['rm', '-f', 'parent'], T);
  assert.doesNotMatch(await linkElements(), / \. tcp \. 80/);
  assert.equal(await reaches('other', `http://${await ip('target')}:80/`), false);
});
