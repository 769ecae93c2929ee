// API access: the unix socket is 0660 and owned by the API group (docker by default); a tcp://
// listener is served with mutual TLS (dockerd's --tlsverify) next to it, so the stock CLI with a
// client certificate works (version; attach/exec upgrades over TLS are not yet checked), a client
// without one is refused, and the audit page is reachable; a tcp:// host without TLS stops the daemon
// at start. Certificates are a throwaway CA made with openssl in a temp dir. Every client runs in the
// sandbox's host namespace, the listener is its 127.0.0.1.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startSandbox, DOCKER_BIN, cmd, type Sandbox } from '../helpers/sandbox.js';

const REDESD_BIN = fileURLToPath(new URL('../../../bin/redesd', import.meta.url));
const ADDR = 'tcp://127.0.0.1:2376';
let sb: Sandbox;
let dir: string;

async function openssl(args: string[]): Promise<void> {
  await cmd(['openssl', ...args], { timeoutMs: 20_000 });
}

async function makeCerts(d: string): Promise<void> {
  await openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(d, 'ca-key.pem'), '-out', join(d, 'ca.pem'), '-days', '1', '-subj', '/CN=redes test CA']);
  for (const [who, ext] of [
    ['server', 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n'],
    ['client', 'extendedKeyUsage=clientAuth\n'],
  ] as const) {
    await writeFile(join(d, `${who}.ext`), ext);
    await openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(d, `${who}-key.pem`), '-out', join(d, `${who}.csr`), '-subj', `/CN=${who}`]);
    await openssl(['x509', '-req', '-in', join(d, `${who}.csr`), '-CA', join(d, 'ca.pem'), '-CAkey', join(d, 'ca-key.pem'), '-CAcreateserial', '-days', '1', '-out', join(d, `${who}.pem`), '-extfile', join(d, `${who}.ext`)]);
  }
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'redes-apitls-'));
  await makeCerts(dir);
  sb = await startSandbox(undefined, {
    prefix: 'apitls',
    daemonArgs: [`-H=${ADDR}`, '--tlsverify', `--tlscacert=${join(dir, 'ca.pem')}`, `--tlscert=${join(dir, 'server.pem')}`, `--tlskey=${join(dir, 'server-key.pem')}`],
  });
});

after(async () => {
  await sb?.down();
  await rm(dir, { recursive: true, force: true });
});

const clientTls = (): string[] => ['--tlsverify', '--tlscacert', join(dir, 'ca.pem'), '--tlscert', join(dir, 'client.pem'), '--tlskey', join(dir, 'client-key.pem'), '-H', ADDR];

test('the unix socket is 0660, group docker, and still serves next to the tcp listener', async () => {
  const st = await cmd(['stat', '-c', '%a %U %G', sb.socket]);
  assert.equal(st.stdout.trim(), '660 root docker');
  const v = await sb.docker(['version', '--format', '{{.Server.Version}}']);
  assert.match(v.stdout, /^\d+\.\d+/);
});

test('the CLI with a client certificate works over mutual TLS', async () => {
  const v = await sb.exec([DOCKER_BIN, ...clientTls(), 'version', '--format', '{{.Server.Version}}'], { timeoutMs: 20_000 });
  assert.match(v.stdout, /^\d+\.\d+/);
});

test('a client without a certificate is refused', async () => {
  const r = await sb.exec([DOCKER_BIN, '--tls', '--tlscacert', join(dir, 'ca.pem'), '-H', ADDR, 'version', '--format', '{{.Server.Version}}'], { allowFail: true, timeoutMs: 20_000 });
  assert.notEqual(r.code, 0);
  assert.equal(r.stdout.trim(), '');
  assert.match(r.stderr, /certificate|tls|remote error|connection reset|EOF/i);
  const c = await sb.exec(['curl', '-s', '-o', '/dev/null', '-w', '%{http_code}', '--cacert', join(dir, 'ca.pem'), 'https://127.0.0.1:2376/_ping'], { allowFail: true, timeoutMs: 20_000 });
  assert.notEqual(c.code, 0);
});

test('the audit page /redes/ui is served over the TLS listener', async () => {
  const c = await sb.exec(
    ['curl', '-s', '-o', '/dev/null', '-w', '%{http_code}', '--cacert', join(dir, 'ca.pem'), '--cert', join(dir, 'client.pem'), '--key', join(dir, 'client-key.pem'), 'https://127.0.0.1:2376/redes/ui'],
    { timeoutMs: 20_000 },
  );
  assert.equal(c.stdout, '200');
});

test('a tcp host without TLS stops the daemon at start with the reason', async () => {
  const r = await sb.exec([REDESD_BIN, '--prefix', 'apitlsx', '-H', 'tcp://127.0.0.1:2377'], { allowFail: true, timeoutMs: 20_000 });
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /refusing to listen on tcp:\/\/ without TLS.*--insecure-tcp/);
});
