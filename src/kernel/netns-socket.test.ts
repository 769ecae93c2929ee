import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readlink } from 'node:fs/promises';
import { closeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { run } from './run.js';
import { netnsAdd, netnsDelete, netnsPath, nsenterArgv } from './netns.js';
import { interfaceNamesInNetns, openSocketsInNetns } from './netns-socket.js';

const tmpName = (): string => `rtds${randomBytes(4).toString('hex')}`;

test('sockets are bound inside the namespace and the thread comes back to its own', async (t) => {
  const name = tmpName();
  t.after(() => netnsDelete(name));
  await netnsAdd(name);
  await run(['ip', '-n', name, 'link', 'set', 'lo', 'up']);
  const before = await readlink('/proc/thread-self/ns/net');
  const { udpFd, tcpFd } = openSocketsInNetns(netnsPath(name), '127.0.0.11', 53);
  t.after(() => [udpFd, tcpFd].forEach((fd) => closeSync(fd)));
  assert.equal(await readlink('/proc/thread-self/ns/net'), before);
  const ss = (await run(nsenterArgv(name, ['ss', '-Hlnut']))).stdout;
  assert.match(ss, /^udp\s+UNCONN.*127\.0\.0\.11:53\b/m);
  assert.match(ss, /^tcp\s+LISTEN.*127\.0\.0\.11:53\b/m);
});

test('a missing namespace or a taken port fails cleanly, still in our own namespace', async (t) => {
  const before = await readlink('/proc/thread-self/ns/net');
  assert.throws(() => openSocketsInNetns('/run/netns/does-not-exist-rtds', '127.0.0.11', 53), /does-not-exist-rtds: No such file/);
  const name = tmpName();
  t.after(() => netnsDelete(name));
  await netnsAdd(name);
  const first = openSocketsInNetns(netnsPath(name), '127.0.0.11', 53);
  t.after(() => [first.udpFd, first.tcpFd].forEach((fd) => closeSync(fd)));
  assert.throws(() => openSocketsInNetns(netnsPath(name), '127.0.0.11', 53), /bind (udp|tcp): Address already in use/);
  assert.throws(() => openSocketsInNetns(netnsPath(name), 'not-an-ip', 53), /not an IPv4 address/);
  assert.equal(await readlink('/proc/thread-self/ns/net'), before);
});

test('interface names are read inside the namespace, without a program, and the thread comes back', async (t) => {
  const name = tmpName();
  t.after(() => netnsDelete(name));
  await netnsAdd(name);
  await run(['ip', '-n', name, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'rdel0badc0de']);
  const before = await readlink('/proc/thread-self/ns/net');
  assert.deepEqual(interfaceNamesInNetns(netnsPath(name)).sort(), ['eth0', 'lo', 'rdel0badc0de']);
  assert.equal(await readlink('/proc/thread-self/ns/net'), before);
  assert.throws(() => interfaceNamesInNetns('/run/netns/does-not-exist-rtds'), /does-not-exist-rtds: No such file/);
  assert.throws(() => interfaceNamesInNetns('/proc/self/status'), /setns: Invalid argument/);
  assert.equal(await readlink('/proc/thread-self/ns/net'), before);
});
