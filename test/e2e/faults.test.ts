// Faults outside the daemon: an external program that fails, and a full disk under the state directory.
// - `nft` and `runc` are test doubles first on the daemon's PATH: a double fails (exit 1, a message on
//   stderr) when its rule file exists and the call (arguments, and the script of `nft -f -`) matches
//   the rule's regex, else it runs the real program. Armed during one operation each (network create,
//   container start at runc create and with the init killed before the start, connect, port
//   publish): the answer is a clean
//   500 with Docker's error shape, the doctor finds nothing half made, and the same operation succeeds
//   once the fault is gone.
// - The data root is a small tmpfs (named after the sandbox, removed by its teardown) filled with one
//   file: every change (network create, container create, start and rename) is refused with a
//   500 and Docker's shape before any step, while a kill and a network rm go through (full-disk.test.ts
//   has the other removals); a container that ends meanwhile gets its exit recorded at once (room kept
//   for it); a container's log keeps its frames readable. After freeing the space, the same requests
//   succeed and the doctor is clean.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { cmd, randomSandboxName, startSandbox, type Sandbox } from '../helpers/sandbox.js';
import { apiRequest, assertDockerError, type ApiResponse } from '../helpers/engine-api.js';
import { differences } from '../helpers/consistency.js';
import { containerReaches } from '../helpers/reach.js';

const REAL = { nft: '/usr/sbin/nft', runc: '/usr/sbin/runc' } as const;
type Tool = keyof typeof REAL;

const name = randomSandboxName('fault');
const dataRoot = `/var/lib/redes/${name}`;
const doubles = `/tmp/${name}-doubles`;
let sb: Sandbox;
let injected = 0;

/** A sh script standing in for `tool`; nothing of the test's input reaches a shell command line. */
function double(tool: Tool): string {
  const rule = `${doubles}/fail-${tool}`;
  const fail = `echo "${tool} $*" >> ${doubles}/injected; echo "injected fault: ${tool} failed" >&2; exit 1`;
  return [
    '#!/bin/sh',
    ...(tool === 'runc' ? killInitAfterCreate() : []),
    `[ -f ${rule} ] || exec ${REAL[tool]} "$@"`,
    'if [ "$1" = "-f" ] && [ "$2" = "-" ]; then',
    '  input=$(cat; echo .); input=${input%.}',
    `  if printf '%s\\n%s\\n' "$*" "$input" | grep -Eq -f ${rule}; then ${fail}; fi`,
    `  printf '%s' "$input" | exec ${REAL[tool]} "$@"`,
    'fi',
    `if printf '%s\\n' "$*" | grep -Eq -f ${rule}; then ${fail}; fi`,
    `exec ${REAL[tool]} "$@"`,
    '',
  ].join('\n');
}

/**
 * The runc double's other fault: with `kill-init` present, a `runc create` succeeds and then its init
 * is killed (SIGKILL, by the pid file runc wrote), so the container dies between create and start.
 * The daemon starts a created container through runc's exec fifo without running `runc start`, so
 * this is how a failure at the start step is made now: the init is gone when the start comes.
 */
function killInitAfterCreate(): string[] {
  return [
    `if [ -f ${doubles}/kill-init ] && printf '%s\\n' "$*" | grep -q ' create --bundle '; then`,
    `  ${REAL.runc} "$@" || exit $?`,
    '  pidfile=; prev=; for a in "$@"; do [ "$prev" = --pid-file ] && pidfile=$a; prev=$a; done',
    `  echo "runc $* (init killed)" >> ${doubles}/injected`,
    '  kill -9 "$(cat "$pidfile")"',
    '  exit 0',
    'fi',
  ];
}

before(async () => {
  await mkdir(`${doubles}/bin`, { recursive: true });
  for (const tool of Object.keys(REAL) as Tool[]) {
    await writeFile(`${doubles}/bin/${tool}`, double(tool));
    await chmod(`${doubles}/bin/${tool}`, 0o755);
  }
  await mkdir(dataRoot, { recursive: true, mode: 0o711 });
  await cmd(['mount', '-t', 'tmpfs', '-o', 'size=64m,mode=0711', `${name}-state`, dataRoot]);
  const path = process.env.PATH;
  process.env.PATH = `${doubles}/bin:${path ?? '/usr/sbin:/usr/bin:/sbin:/bin'}`;
  // The daemon applies nftables in-process unless told to run the program (the double).
  process.env.REDES_NFT = 'exec';
  try {
    sb = await startSandbox(undefined, { name }); // a failed start removes the sandbox, tmpfs included
  } finally {
    process.env.PATH = path;
    delete process.env.REDES_NFT;
  }
});
after(async () => {
  try {
    await sb?.down();
  } finally {
    await rm(doubles, { recursive: true, force: true });
  }
});

const api = (method: string, path: string, body?: unknown): Promise<ApiResponse> =>
  apiRequest(sb.socket, method, `/v1.50${path}`, { ...(body === undefined ? {} : { body }), timeoutMs: 60_000 });

/** Runs `op` with `tool` failing on calls matching `rule`; asserts the double did fail one. */
async function withFault<T>(tool: Tool | 'kill-init', rule: string, op: () => Promise<T>): Promise<T> {
  const before = (await readFile(`${doubles}/injected`, 'utf8').catch(() => '')).split('\n').length;
  const armed = tool === 'kill-init' ? `${doubles}/kill-init` : `${doubles}/fail-${tool}`;
  await writeFile(armed, `${rule}\n`);
  let out: T;
  try {
    out = await op();
  } finally {
    await rm(armed, { force: true });
  }
  const now = (await readFile(`${doubles}/injected`, 'utf8').catch(() => '')).split('\n').length;
  assert.ok(now > before, `no call of ${tool} matched ${rule}: the fault was not injected`);
  injected += now - before;
  return out;
}

const running = async (c: string): Promise<boolean> =>
  (await api('GET', `/containers/${c}/json`)).json<{ State: { Running: boolean } }>().State.Running;

async function create(c: string, body: Record<string, unknown> = {}): Promise<void> {
  const r = await api('POST', `/containers/create?name=${c}`, { Image: 'busybox', Cmd: ['sleep', '3600'], ...body });
  assert.equal(r.status, 201, r.body);
}

test('nft fails while a network is made: 500, no bridge or rule left, the same create then works', async () => {
  const body = { Name: 'nf-net', IPAM: { Config: [{ Subnet: '10.61.0.0/24' }] } };
  const r = await withFault('nft', '10\\.61\\.0\\.0/24', () => api('POST', '/networks/create', body));
  assertDockerError(r, 500, /injected fault/);
  assert.equal((await api('GET', '/networks/nf-net')).status, 404);
  assert.doesNotMatch(JSON.stringify(await sb.ipJson(['addr', 'show'])), /10\.61\.0\.1/, 'no bridge holds the gateway');
  assert.deepEqual(await differences(sb), []);
  assert.equal((await api('POST', '/networks/create', body)).status, 201);
  assert.deepEqual(await differences(sb), []);
});

for (const step of ['create', 'start'] as const) {
  test(`runc ${step} fails during a start: 500, the container stays created with nothing plugged in, the next start works`, async () => {
    const c = `nf-runc-${step}`;
    await create(c, { HostConfig: { NetworkMode: 'nf-net' } });
    if (step === 'create') {
      assertDockerError(await withFault('runc', ' create ', () => api('POST', `/containers/${c}/start`)), 500, /injected fault/);
    } else {
      // The init dies before it takes the start: runc, asked then, answers that it has stopped, or
      // that it does not exist if the shim has reaped the init and deleted the container meanwhile.
      assertDockerError(await withFault('kill-init', '', () => api('POST', `/containers/${c}/start`)), 500, /stopped|not running|does not exist|no such process/i);
    }
    assert.equal(await running(c), false);
    assert.deepEqual(await differences(sb), []);
    assert.equal((await api('POST', `/containers/${c}/start`)).status, 204);
    assert.equal(await running(c), true);
    assert.deepEqual(await differences(sb), []);
  });
}

test('nft fails during a connect: 500, no endpoint on the network, the next connect works', async () => {
  assert.equal((await api('POST', '/networks/create', { Name: 'nf-two', IPAM: { Config: [{ Subnet: '10.62.0.0/24' }] } })).status, 201);
  const r = await withFault('nft', '10\\.62\\.0\\.[0-9]+[^/0-9]', () => api('POST', '/networks/nf-two/connect', { Container: 'nf-runc-create' }));
  assertDockerError(r, 500, /injected fault/);
  const nets = (await api('GET', '/containers/nf-runc-create/json')).json<{ NetworkSettings: { Networks: Record<string, unknown> } }>();
  assert.deepEqual(Object.keys(nets.NetworkSettings.Networks), ['nf-net']);
  assert.deepEqual(await differences(sb), []);
  assert.equal((await api('POST', '/networks/nf-two/connect', { Container: 'nf-runc-create' })).status, 200);
  assert.ok(await containerReaches(sb, 'nf-runc-create', '10.62.0.1'), 'nf-runc-create → the gateway of nf-two');
  assert.deepEqual(await differences(sb), []);
});

test('nft fails while a port is published: 500, no rule and no reservation left, the next start publishes it', async () => {
  await create('nf-port', {
    Cmd: ['sh', '-c', 'echo published > /i.html && httpd -p 80 -h / && exec sleep 3600'], ExposedPorts: { '80/tcp': {} },
    HostConfig: { NetworkMode: 'nf-net', PortBindings: { '80/tcp': [{ HostPort: '18082' }] } },
  });
  const r = await withFault('nft', '18082', () => api('POST', '/containers/nf-port/start'));
  assertDockerError(r, 500, /injected fault/);
  assert.equal(await running('nf-port'), false);
  assert.doesNotMatch(JSON.stringify(await sb.nftJson()), /18082/);
  assert.deepEqual(await differences(sb), []);
  assert.equal((await api('POST', '/containers/nf-port/start')).status, 204);
  // The start returns once httpd is exec'd, a moment before it listens (CI saw "Connection refused").
  let got = { stdout: '', stderr: '' };
  for (let i = 0; i < 20 && got.stdout !== 'published\n'; i++) {
    if (i) await new Promise((r) => setTimeout(r, 250));
    got = await sb.world(['timeout', '10', 'busybox', 'wget', '-qO-', 'http://203.0.113.2:18082/i.html'], { allowFail: true, timeoutMs: 15_000 });
  }
  assert.equal(got.stdout, 'published\n', got.stderr);
  assert.deepEqual(await differences(sb), []);
});

/** The log lines of container `c` (docker logs). */
async function logLines(c: string): Promise<string[]> {
  return (await sb.docker(['logs', c], { timeoutMs: 20_000 })).stdout.split('\n').filter(Boolean);
}

test('a full state directory: changes refused with a clean 500 before any step, removals and exits recorded, all works again', async () => {
  assert.equal((await api('POST', '/networks/create', { Name: 'df-gone' })).status, 201);
  await create('df-later', { HostConfig: { NetworkMode: 'nf-net' } });
  // df-brief ends when the test opens its gate (a bind-mounted folder outside the full disk).
  await mkdir(`${doubles}/gate`, { recursive: true });
  await create('df-brief', { Cmd: ['sh', '-c', 'while [ ! -e /gate/go ]; do sleep 0.2; done'], HostConfig: { NetworkMode: 'nf-net', Binds: [`${doubles}/gate:/gate`] } });
  assert.equal((await api('POST', '/containers/df-brief/start')).status, 204);
  await create('df-chatty', { Cmd: ['sh', '-c', 'i=0; while true; do i=$((i+1)); echo line $i; sleep 0.05; done'] });
  assert.equal((await api('POST', '/containers/df-chatty/start')).status, 204);
  await create('df-victim', { Cmd: ['sleep', '300'] });
  assert.equal((await api('POST', '/containers/df-victim/start')).status, 204);
  assert.deepEqual(await differences(sb), []);

  const fill = await cmd(['dd', 'if=/dev/zero', `of=${dataRoot}/fill`, 'bs=1M'], { allowFail: true, timeoutMs: 60_000 });
  assert.match(fill.stderr, /No space left on device/);
  injected++;
  try {
    const noSpace = /^no space left on device/;
    assertDockerError(await api('POST', '/networks/create', { Name: 'df-net' }), 500, noSpace);
    assertDockerError(await api('POST', '/containers/create?name=df-new', { Image: 'busybox', Cmd: ['true'] }), 500, noSpace);
    assertDockerError(await api('POST', '/containers/df-later/start'), 500, noSpace);
    assertDockerError(await api('POST', '/containers/df-later/rename?name=df-renamed'), 500, noSpace);
    // A kill goes through: the container may be what fills the disk.
    assert.equal((await api('POST', '/containers/df-victim/kill')).status, 204, 'kill on a full disk');
    const victimPid = (await api('GET', '/containers/df-victim/json')).json<{ State: { Pid: number } }>().State.Pid;
    assert.ok(victimPid === 0 || (await cmd(['kill', '-0', String(victimPid)], { allowFail: true })).code !== 0, 'the killed container\'s process is gone');
    // A removal goes through too: it frees space, and its record has room kept for it.
    assert.equal((await api('DELETE', '/networks/df-gone')).status, 204, 'network rm on a full disk');
    // df-brief ends now and its exit is recorded while the disk is full (the shim's exit file and
    // SQLite have room kept for it); the chatty container writes to the full disk meanwhile.
    await writeFile(`${doubles}/gate/go`, '');
    for (let i = 0; (await running('df-brief')) && i < 60; i++) await sleep(500);
    assert.equal(await running('df-brief'), false, 'the exit of the ended container is recorded on the full disk');
    for (let i = 0; (await running('df-victim')) && i < 60; i++) await sleep(500);
    assert.equal(await running('df-victim'), false, 'the exit of the container killed on the full disk is recorded');
    const exits = await Promise.all(['df-brief', 'df-victim'].map(async (c) => (await api('GET', `/containers/${c}/json`)).json<{ State: { ExitCode: number } }>().State.ExitCode));
    assert.deepEqual(exits, [0, 137]);
    assert.equal((await api('GET', '/_ping')).status, 200);
  } finally {
    await rm(`${dataRoot}/fill`, { force: true });
  }
  assert.equal((await api('GET', '/networks/df-net')).status, 404);
  assert.equal((await api('GET', '/containers/df-new/json')).status, 404);
  assert.deepEqual(await differences(sb), []);

  // Everything refused works now.
  assert.equal((await api('POST', '/networks/create', { Name: 'df-net' })).status, 201);
  assert.equal((await api('POST', '/containers/create?name=df-new', { Image: 'busybox', Cmd: ['true'] })).status, 201);
  assert.equal((await api('POST', '/containers/df-later/start')).status, 204);
  assert.equal((await api('POST', '/containers/df-later/rename?name=df-renamed')).status, 204);
  assert.equal((await api('GET', '/networks/df-gone')).status, 404);
  // The log went on through the full disk: lines written after it are read back.
  const lines = await logLines('df-chatty');
  // It prints every 50 ms; under load the next line may take a while: wait for it, bounded.
  let later = lines;
  for (let i = 0; later.length <= lines.length && i < 30; i++) {
    await sleep(500);
    later = await logLines('df-chatty');
  }
  assert.ok(later.length > lines.length, `docker logs grows again after the disk had room (${lines.length} -> ${later.length})`);
  assert.match(later.at(-1) ?? '', /^line \d+$/);
  assert.deepEqual(await differences(sb), []);
  console.log(`faults injected: ${injected} (${injected - 1} failing nft/runc calls, 1 full disk)`);
});
