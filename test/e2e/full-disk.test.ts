// A full disk under the state directory (a small tmpfs data root, named after the sandbox and removed
// by its teardown), beyond what faults.test.ts covers:
// - removals go through on a disk with no byte left, as with dockerd (rm, rm -f, network rm,
//   disconnect, volume rm, rmi, prunes): each completes whole (kernel objects, files, record) and
//   frees what it held; the doctor finds nothing half made;
// - a container killed on a full disk is shown exited with 137 (SIGKILL) at once, not running until
//   space returns and then 255;
// - the disk filling in the middle of a `docker load`, a `docker pull`, a `docker build` (its
//   context, or a COPY), a `docker cp` into a container or a container create: each ends with
//   dockerd's error text (Go's `write PATH: no space left on device`, with the path dockerd's
//   chrooted unpacking shows, never the data root), nothing half made (no layer directory, no image
//   listed, no container without its directory or the reverse; of a `docker cp`, at most the file
//   being written, as dockerd leaves it), the daemon keeps serving, and the same operation succeeds
//   once space returns.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readdir, rm, statfs, writeFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { cmd, randomSandboxName, startSandbox, type Sandbox } from '../helpers/sandbox.js';
import { apiRequest, assertDockerError, type ApiResponse } from '../helpers/engine-api.js';
import { differences } from '../helpers/consistency.js';

const name = randomSandboxName('disk');
const dataRoot = `/var/lib/redes/${name}`;
const work = `/tmp/${name}-work`;
const fillFile = `${dataRoot}/fill`;
let sb: Sandbox;

before(async () => {
  await mkdir(`${work}/big`, { recursive: true });
  await mkdir(dataRoot, { recursive: true, mode: 0o711 });
  await cmd(['mount', '-t', 'tmpfs', '-o', 'size=96m,mode=0711', `${name}-state`, dataRoot]);
  sb = await startSandbox(undefined, { name }); // a failed start removes the sandbox, tmpfs included
  // An image of 12 MB that cannot fit in the room left by `leave` below: random bytes in one layer.
  await cmd(['dd', 'if=/dev/urandom', `of=${work}/big/blob`, 'bs=1M', 'count=12'], { timeoutMs: 60_000 });
  await cmd(['tar', '-C', `${work}/big`, '-cf', `${work}/big.tar`, 'blob']);
  await sb.docker(['import', `${work}/big.tar`, 'fill-big:1'], { timeoutMs: 60_000 });
  await sb.docker(['save', '-o', `${work}/big-saved.tar`, 'fill-big:1'], { timeoutMs: 60_000 });
  await sb.docker(['tag', 'fill-big:1', 'registry.test:5000/fill/big:1']);
  await sb.docker(['push', 'registry.test:5000/fill/big:1'], { timeoutMs: 120_000 });
  await sb.docker(['rmi', 'fill-big:1', 'registry.test:5000/fill/big:1']);
  // A build context of 12 MB (the same random blob) copied into the image.
  await mkdir(`${work}/ctx`);
  await writeFile(`${work}/ctx/Dockerfile`, 'FROM busybox\nCOPY blob /blob\n');
  await cmd(['cp', `${work}/big/blob`, `${work}/ctx/blob`]);
});
after(async () => {
  try {
    await sb?.down();
  } finally {
    await rm(work, { recursive: true, force: true });
  }
});

const api = (method: string, path: string, body?: unknown): Promise<ApiResponse> =>
  apiRequest(sb.socket, method, `/v1.50${path}`, { ...(body === undefined ? {} : { body }), timeoutMs: 60_000 });

async function freeBytes(): Promise<number> {
  const s = await statfs(dataRoot);
  return s.bfree * s.bsize;
}

/** Fills the data root until `bytes` are left (0: until the kernel says no space). */
async function leave(bytes: number): Promise<void> {
  if (bytes === 0) {
    const fill = await cmd(['dd', 'if=/dev/zero', `of=${fillFile}`, 'bs=64k'], { allowFail: true, timeoutMs: 60_000 });
    assert.match(fill.stderr, /No space left on device/);
    return;
  }
  const take = (await freeBytes()) - bytes;
  assert.ok(take > 0, `the data root has less than ${bytes} bytes free`);
  await cmd(['fallocate', '-l', String(take), fillFile]);
}

const unfill = (): Promise<void> => rm(fillFile, { force: true });

const state = async (c: string): Promise<{ Running: boolean; Status: string; ExitCode: number }> =>
  (await api('GET', `/containers/${c}/json`)).json<{ State: { Running: boolean; Status: string; ExitCode: number } }>().State;

async function run(c: string, body: Record<string, unknown> = {}): Promise<string> {
  const r = await api('POST', `/containers/create?name=${c}`, { Image: 'busybox', Cmd: ['sleep', '3600'], ...body });
  assert.equal(r.status, 201, r.body);
  assert.equal((await api('POST', `/containers/${c}/start`)).status, 204);
  return r.json<{ Id: string }>().Id;
}

const ls = (dir: string): Promise<string[]> => readdir(`${dataRoot}/${dir}`).catch(() => []);
const links = async (): Promise<string> => JSON.stringify(await sb.ipJson(['link', 'show']));

test('removals on a disk with no byte left complete whole and free their space', async () => {
  const net = (await api('POST', '/networks/create', { Name: 'rm-net', IPAM: { Config: [{ Subnet: '10.71.0.0/24' }] } })).json<{ Id: string }>().Id;
  const created = (await api('POST', '/containers/create?name=rm-created', { Image: 'busybox', Cmd: ['true'], HostConfig: { NetworkMode: 'rm-net' } })).json<{ Id: string }>().Id;
  const running = await run('rm-running', { HostConfig: { NetworkMode: 'rm-net' } });
  const exited = await run('rm-exited', { Cmd: ['true'] });
  await run('rm-attached');
  assert.equal((await api('POST', '/networks/rm-net/connect', { Container: 'rm-attached' })).status, 200);
  assert.equal((await api('POST', '/volumes/create', { Name: 'rm-vol' })).status, 201);
  await writeFile(`${work}/small`, 'small layer\n');
  await cmd(['tar', '-C', work, '-cf', `${work}/small.tar`, 'small']);
  await sb.docker(['import', `${work}/small.tar`, 'rm-img:1']);
  const layersBefore = await ls('images/layers');
  assert.deepEqual(await differences(sb), []);
  assert.match(await links(), new RegExp(net.slice(0, 12)), 'the network has its bridge');

  await leave(0);
  try {
    assert.equal((await api('DELETE', '/containers/rm-created')).status, 204, 'rm of a created container');
    assert.equal((await api('DELETE', '/containers/rm-running?force=1')).status, 204, 'rm -f of a running container');
    assert.equal((await api('POST', '/networks/rm-net/disconnect', { Container: 'rm-attached' })).status, 200, 'network disconnect');
    assert.equal((await api('DELETE', '/networks/rm-net')).status, 204, 'network rm');
    assert.equal((await api('DELETE', '/volumes/rm-vol')).status, 204, 'volume rm');
    const rmi = await sb.docker(['rmi', 'rm-img:1'], { allowFail: true });
    assert.equal(rmi.code, 0, rmi.stderr);
    const prune = await api('POST', '/containers/prune');
    assert.equal(prune.status, 200, prune.body);
    assert.ok(prune.json<{ ContainersDeleted: string[] }>().ContainersDeleted.includes(exited), prune.body);
    for (const c of ['rm-created', 'rm-running', 'rm-exited']) assert.equal((await api('GET', `/containers/${c}/json`)).status, 404, c);
    for (const id of [created, running, exited]) assert.ok(!(await ls('containers')).includes(id), `the directory of ${id} is gone`);
    assert.equal((await api('GET', '/networks/rm-net')).status, 404);
    assert.doesNotMatch(await links(), new RegExp(net.slice(0, 12)), 'the bridge is gone');
    assert.deepEqual(Object.keys((await api('GET', '/containers/rm-attached/json')).json<{ NetworkSettings: { Networks: object } }>().NetworkSettings.Networks), ['bridge']);
    assert.equal((await api('GET', '/volumes/rm-vol')).status, 404);
    assert.ok(!(await ls('volumes')).includes('rm-vol'), 'the volume directory is gone');
    assert.equal((await api('GET', '/images/rm-img:1/json')).status, 404);
    assert.deepEqual((await ls('images/layers')).filter((l) => !layersBefore.includes(l)), []);
    assert.equal((await ls('images/layers')).length, layersBefore.length - 1, 'the image\'s own layer is gone');
    assert.deepEqual(await differences(sb), []);
  } finally {
    await unfill();
  }
  assert.equal((await api('POST', '/networks/create', { Name: 'rm-net', IPAM: { Config: [{ Subnet: '10.71.0.0/24' }] } })).status, 201);
  await sb.docker(['import', `${work}/small.tar`, 'rm-img:1']);
  assert.deepEqual(await differences(sb), []);
});

test('a container killed on a full disk is exited with 137 at once, and stays so once space returns', async () => {
  await run('kill-full');
  await leave(0);
  try {
    assert.equal((await api('POST', '/containers/kill-full/kill')).status, 204);
    let st = await state('kill-full');
    for (let i = 0; st.Running && i < 60; i++) {
      await sleep(250);
      st = await state('kill-full');
    }
    assert.deepEqual([st.Running, st.Status, st.ExitCode], [false, 'exited', 137], 'exited with SIGKILL\'s code while the disk is full');
    const ps = await sb.docker(['ps', '-a', '--filter', 'name=kill-full', '--format', '{{.Status}}']);
    assert.match(ps.stdout, /^Exited \(137\)/);
  } finally {
    await unfill();
  }
  await sleep(1500); // a deferred record, if any, is written within the first retry
  const st = await state('kill-full');
  assert.deepEqual([st.Running, st.ExitCode], [false, 137]);
  assert.deepEqual(await differences(sb), []);
  assert.equal((await api('DELETE', '/containers/kill-full')).status, 204);
});

/** What a failed operation must not leave: a layer, a staged file, an image, a container directory. */
async function snapshot(): Promise<{ layers: string[]; tmp: string[]; containers: string[]; images: string }> {
  const images = (await sb.docker(['images', '-a', '--format', '{{.Repository}}:{{.Tag}} {{.ID}}'])).stdout;
  return { layers: await ls('images/layers'), tmp: await ls('images/tmp'), containers: await ls('containers'), images };
}

/** What dockerd says of a full disk; never Node's wording or a path of the data root. */
function saysDiskFull(stderr: string, expected: RegExp, what: string): void {
  assert.match(stderr.trim(), expected, what);
  assert.doesNotMatch(stderr, /ENOSPC|\/var\/lib\/redes/, `${what}: Node's wording or the data root`);
}

for (const [what, op, check, said] of [
  // dockerd untars the archive first (chrooted in its tmp dir), so it names the archive member.
  ['docker load', ['load', '-i', `${work}/big-saved.tar`], 'fill-big:1', /^write \/blobs\/sha256\/[0-9a-f]{64}: no space left on device$/],
  // dockerd's layer download manager: the layer's files, chrooted in the new layer.
  ['docker pull', ['pull', 'registry.test:5000/fill/big:1'], 'registry.test:5000/fill/big:1', /(^|\n)failed to register layer: write \/blob: no space left on device$/],
] as const) {
  test(`the disk fills during ${what}: Docker's error, nothing half stored, then the same ${what} works`, async (t) => {
    const before = await snapshot();
    await leave(4 * 1024 * 1024); // above the guard's minimum, below the 12 MB layer
    let out;
    try {
      out = await sb.docker(op, { allowFail: true, timeoutMs: 120_000 });
      assert.notEqual(out.code, 0, out.stdout);
      t.diagnostic(`${what} on a full disk said: ${out.stderr.trim()}`);
      saysDiskFull(out.stderr, said, what);
      assert.equal((await api('GET', '/_ping')).status, 200, 'the daemon serves');
      assert.deepEqual(await snapshot(), before, 'nothing of it stored');
      assert.deepEqual(await differences(sb), []);
    } finally {
      await unfill();
    }
    out = await sb.docker(op, { allowFail: true, timeoutMs: 120_000 });
    assert.equal(out.code, 0, out.stderr);
    assert.equal((await api('GET', `/images/${check}/json`)).status, 200);
    assert.deepEqual(await differences(sb), []);
    assert.equal((await sb.docker(['rmi', check], { allowFail: true })).code, 0);
  });
}

for (const [what, room, said] of [
  // The context (12 MB) does not fit: dockerd unpacks it chrooted in its tmp dir before any step,
  // so the error is the HTTP answer (a 500) and the CLI prints it as the daemon's.
  ['its context', 4, /^Error response from daemon: write \/blob: no space left on device$/m],
  // The context fits, the COPY's layer (12 MB more) does not: the error ends the build's stream,
  // in dockerd's words (builder/dockerfile copy.go), the path as its untar chrooted in / sees it.
  ['a COPY', 20, /(^|\n)failed to copy file: write \/blob: no space left on device$/],
] as const) {
  test(`the disk fills during docker build (${what}): Docker's error, no image and no step stored, then the build works`, async (t) => {
    const before = await snapshot();
    await leave(room * 1024 * 1024);
    const build = ['build', '--no-cache', '-t', 'fill-build:1', `${work}/ctx`];
    let out;
    try {
      out = await sb.docker(build, { allowFail: true, timeoutMs: 120_000 });
      t.diagnostic(`docker build (${what}) on a full disk: exit ${out.code}: ${out.stderr.trim()}`);
      assert.equal(out.code, 1, out.stdout);
      saysDiskFull(out.stderr, said, what);
      assert.equal((await api('GET', '/images/fill-build:1/json')).status, 404);
      assert.deepEqual(await snapshot(), before, 'no image, step, layer or context left');
      assert.deepEqual(await differences(sb), []);
    } finally {
      await unfill();
    }
    out = await sb.docker(build, { allowFail: true, timeoutMs: 120_000 });
    assert.equal(out.code, 0, out.stderr);
    const run = await sb.docker(['run', '--rm', 'fill-build:1', 'wc', '-c', '/blob']);
    assert.match(run.stdout.trim(), /^12582912 \/blob$/);
    assert.deepEqual(await differences(sb), []);
    assert.equal((await sb.docker(['rmi', 'fill-build:1'], { allowFail: true })).code, 0);
  });
}

test('the disk fills during docker cp into a container: Docker\'s error, at most the file being written is left, then the cp works', async (t) => {
  const id = await run('cp-full');
  // Read on the host: an exec is a change the space guard refuses on a full disk.
  const listing = async (): Promise<string[]> => (await ls(`containers/${id}/upper/tmp`)).sort();
  assert.deepEqual(await listing(), []);
  const before = await snapshot();
  await leave(4 * 1024 * 1024);
  try {
    const out = await sb.docker(['cp', `${work}/big/blob`, 'cp-full:/tmp/'], { allowFail: true, timeoutMs: 120_000 });
    t.diagnostic(`docker cp on a full disk: exit ${out.code}: ${out.stderr.trim()}`);
    assert.equal(out.code, 1, out.stdout);
    // dockerd extracts inside the container's filesystem (RunInFS), so it names the container's path.
    saysDiskFull(out.stderr, /^Error response from daemon: write \/tmp\/blob: no space left on device$/m, 'docker cp');
    // dockerd's untar leaves the file it was writing as far as it got, and nothing else.
    assert.ok(['', 'blob'].includes((await listing()).join(' ')), (await listing()).join(' '));
    assert.equal((await api('GET', '/_ping')).status, 200);
    assert.deepEqual((await snapshot()).layers, before.layers);
    assert.deepEqual(await differences(sb), []);
  } finally {
    await unfill();
  }
  const out = await sb.docker(['cp', `${work}/big/blob`, 'cp-full:/tmp/'], { allowFail: true, timeoutMs: 120_000 });
  assert.equal(out.code, 0, out.stderr);
  assert.match((await sb.docker(['exec', 'cp-full', 'wc', '-c', '/tmp/blob'])).stdout.trim(), /^12582912 \/tmp\/blob$/);
  assert.deepEqual(await differences(sb), []);
  assert.equal((await api('DELETE', '/containers/cp-full?force=1')).status, 204);
});

test('the disk fills during a container create: a clean 500, no record and no directory, then the create works', async () => {
  const before = await snapshot();
  await leave(2 * 1024 * 1024);
  const body = { Image: 'busybox', Cmd: ['true'], Labels: { big: 'x'.repeat(8 * 1024 * 1024) } };
  try {
    const r = await api('POST', '/containers/create?name=create-full', body);
    assertDockerError(r, 500, /^no space left on device: /);
    assert.equal((await api('GET', '/containers/create-full/json')).status, 404);
    assert.deepEqual(await snapshot(), before);
    assert.deepEqual(await differences(sb), []);
  } finally {
    await unfill();
  }
  assert.equal((await api('POST', '/containers/create?name=create-full', body)).status, 201);
  assert.equal((await state('create-full')).Status, 'created');
  assert.deepEqual(await differences(sb), []);
});
