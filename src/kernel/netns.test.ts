import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readlink } from 'node:fs/promises';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { run } from './run.js';
import {
  INIT_NETNS_INO,
  isRootNetns,
  netnsAdd,
  netnsDelete,
  netnsDeleteMany,
  netnsExists,
  netnsId,
  netnsList,
  netnsPath,
  nsenterArgv,
  pidInNetns,
  pidsInNetns,
  pidsInNetnsAll,
} from './netns.js';

const tmpName = (): string => `rtns${randomBytes(4).toString('hex')}`;

test('nsenterArgv enters only the network namespace, by path', () => {
  assert.deepEqual(nsenterArgv('abc', ['ip', 'link']), ['nsenter', '--net=/run/netns/abc', '--', 'ip', 'link']);
  assert.equal(netnsPath('abc-world'), '/run/netns/abc-world');
});

test('names that are not one path component are refused', () => {
  for (const bad of ['', '..', 'a/b', '../x', 'a b']) assert.throws(() => netnsPath(bad), /invalid netns name/);
});

test('add, list, identify and delete a namespace; deleting a missing one is fine', async (t) => {
  const name = tmpName();
  t.after(() => netnsDelete(name));
  await netnsAdd(name);
  assert.ok((await netnsList()).includes(name));
  assert.ok(await netnsExists(name));
  const id = await netnsId(name);
  assert.ok(id && id.ino > 0);
  const own = await readlink('/proc/self/ns/net');
  assert.notEqual(`net:[${id.ino}]`, own, 'a namespace of its own');
  assert.equal(await readlink('/proc/thread-self/ns/net'), own, 'the calling thread stays where it was');
  await assert.rejects(netnsAdd(name), /add netns ".*" failed: create the namespace file .*: File exists/);
  assert.deepEqual(await netnsId(name), id, 'a refused add leaves the existing one alone');
  await netnsDelete(name);
  assert.equal(await netnsExists(name), false);
  assert.equal(await netnsId(name), undefined);
  await netnsDelete(name);
});

test('a plain file in /run/netns is not a live namespace and is deleted', async (t) => {
  const name = tmpName();
  t.after(() => netnsDelete(name));
  await run(['touch', netnsPath(name)]);
  assert.equal(await netnsId(name), undefined);
  await netnsDelete(name);
  assert.equal(await netnsExists(name), false);
});

test('processes are found by the namespace they run in', async (t) => {
  const name = tmpName();
  await netnsAdd(name);
  t.after(() => netnsDelete(name));
  const child = spawn('nsenter', nsenterArgv(name, ['sleep', '30']).slice(1), { stdio: 'ignore' });
  t.after(() => child.kill('SIGKILL'));
  await new Promise((r) => child.once('spawn', r));
  const pid = child.pid ?? 0;
  // nsenter execs sleep after setns: wait until the pid has switched.
  for (let i = 0; i < 100 && !(await pidInNetns(pid, name)); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(await pidInNetns(pid, name));
  assert.deepEqual(await pidsInNetns(name), [pid]);
  assert.equal(await pidInNetns(process.pid, name), false);
});

test('many namespaces: processes found in one walk, then all deleted at once (a broken file too)', async (t) => {
  const names = [tmpName(), tmpName(), tmpName()];
  const broken = tmpName();
  t.after(() => Promise.all([...names, broken].map((n) => netnsDelete(n))));
  for (const n of names) await netnsAdd(n);
  await run(['touch', netnsPath(broken)]);
  const child = spawn('nsenter', nsenterArgv(names[1] as string, ['sleep', '30']).slice(1), { stdio: 'ignore' });
  t.after(() => child.kill('SIGKILL'));
  await new Promise((r) => child.once('spawn', r));
  const pid = child.pid ?? 0;
  for (let i = 0; i < 100 && !(await pidInNetns(pid, names[1] as string)); i++) await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(await pidsInNetnsAll([...names, broken]), [pid]);
  child.kill('SIGKILL');
  await netnsDeleteMany([...names, broken, tmpName()]);
  const left = await netnsList();
  for (const n of [...names, broken]) assert.equal(left.includes(n), false, `${n} left behind`);
});

test('isRootNetns agrees with PID 1 where readable, else with the fixed initial inode', async () => {
  const self = await readlink('/proc/self/ns/net');
  const init = await readlink('/proc/1/ns/net').catch(() => `net:[${INIT_NETNS_INO}]`);
  assert.equal(await isRootNetns(), self === init);
});

test('isRootNetns is false in a named namespace', async (t) => {
  const name = tmpName();
  await netnsAdd(name);
  t.after(() => netnsDelete(name));
  const self = fileURLToPath(new URL('./netns.js', import.meta.url));
  const script = `import(${JSON.stringify(self)}).then(async (m) => console.log(await m.isRootNetns()))`;
  const r = await run(nsenterArgv(name, [process.execPath, '-e', script]));
  assert.equal(r.stdout.trim(), 'false');
});
