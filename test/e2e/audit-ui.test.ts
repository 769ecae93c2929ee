// The pictures of `redes audit`: `redes topology --svg` and `docker redes topology` (the CLI plugin)
// draw every container and network; the live page /redes/ui, opened in headless Debian chromium
// (playwright-core), shows nodes and edges, updates when a container starts (server-sent events) and
// shows a container's reachability row on click. Chromium and the TCP-to-socket proxy both run inside
// the sandbox's host namespace: no port is opened in the machine's root namespace. Screenshots go to
// test-artifacts/ (ignored by git).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startSandbox, REDES_BIN, DOCKER_BIN, type Sandbox } from '../helpers/sandbox.js';
import { runDetached } from '../helpers/containers.js';
import { run } from '../../src/kernel/run.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const ARTIFACTS = join(ROOT, 'test-artifacts');
const PROXY = fileURLToPath(new URL('../helpers/unix-proxy.js', import.meta.url));

let sb: Sandbox;
let dir: string;
let proxy: ChildProcess | undefined;
let browser: Browser | undefined;
let base = '';

before(async () => {
  sb = await startSandbox(undefined, { prefix: 'audui' });
  dir = await mkdtemp(join(tmpdir(), 'redes-audit-ui-'));
  await mkdir(ARTIFACTS, { recursive: true });
  await sb.docker(['network', 'create', '--internal', 'back'], { timeoutMs: 20_000 });
  await runDetached(sb, ['--name', 'front', '-p', '8080:80', 'busybox', 'sleep', '3600']);
  await runDetached(sb, ['--name', 'store', '--net', 'back', 'busybox', 'sleep', '3600']);
  // The proxy: 127.0.0.1:<port> of the sandbox's host namespace → the daemon's socket.
  proxy = spawn('nsenter', [`--net=/run/netns/${sb.name}`, process.execPath, PROXY, sb.socket], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<string>((resolve, reject) => {
    proxy?.stdout?.once('data', (b: Buffer) => resolve(b.toString().trim()));
    proxy?.once('exit', (c) => reject(new Error(`proxy exited ${c}`)));
  });
  base = `http://127.0.0.1:${port}`;
  // Chromium in the same namespace, through a wrapper playwright starts as if it were chromium.
  const wrapper = join(dir, 'chromium-in-sandbox');
  await writeFile(wrapper, `#!/bin/sh\nexec nsenter --net=/run/netns/${sb.name} /usr/bin/chromium "$@"\n`);
  await chmod(wrapper, 0o755);
  browser = await chromium.launch({ executablePath: wrapper, args: ['--disable-gpu'] });
});

after(async () => {
  await browser?.close();
  if (proxy?.pid) proxy.kill('SIGTERM');
  await sb?.down();
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('redes topology --svg draws every container and network', async () => {
  const file = join(dir, 't.svg');
  const r = await run([REDES_BIN, 'topology', '-H', sb.dockerHost, '--svg', file], { allowFailure: true, timeoutMs: 30_000 });
  assert.equal(r.code, 0, r.stderr);
  const svg = await readFile(file, 'utf8');
  for (const n of ['front', 'store', 'bridge', 'back', '0.0.0.0:8080/tcp']) assert.match(svg, new RegExp(`data-name="${n.replaceAll('.', '\\.')}"`), n);
});

test('the docker CLI plugin answers its metadata and runs `docker redes audit` and `docker redes topology`', async () => {
  const config = join(dir, 'docker-config');
  await mkdir(join(config, 'cli-plugins'), { recursive: true });
  await symlink(join(ROOT, 'bin', 'docker-redes'), join(config, 'cli-plugins', 'docker-redes'));
  const meta = JSON.parse((await run([join(ROOT, 'bin', 'docker-redes'), 'docker-cli-plugin-metadata'])).stdout) as { SchemaVersion: string; Vendor: string };
  assert.equal(meta.SchemaVersion, '0.1.0');
  const fromNode = await run([process.execPath, join(ROOT, 'dist', 'src', 'cli', 'docker-plugin.js'), 'docker-cli-plugin-metadata']);
  assert.deepEqual(JSON.parse(fromNode.stdout), meta, 'the compiled plugin and the script answer the same metadata');
  const env = { ...process.env, DOCKER_CONFIG: config, DOCKER_HOST: sb.dockerHost };
  const a = await run([DOCKER_BIN, 'redes', 'audit', '--format', 'json'], { env, allowFailure: true, timeoutMs: 60_000 });
  assert.equal(a.code, 0, a.stderr);
  assert.equal((JSON.parse(a.stdout) as { schema: string }).schema, 'redes.audit/v1');
  const t = await run([DOCKER_BIN, 'redes', 'topology', '--svg', '-'], { env, allowFailure: true, timeoutMs: 60_000 });
  assert.equal(t.code, 0, t.stderr);
  assert.match(t.stdout, /data-name="store"/);
  const help = await run([DOCKER_BIN, '--help'], { env });
  assert.match(help.stdout, /redes\*? +Audit reachability and draw the topology/);
});

async function nodes(page: Page, kind: string): Promise<string[]> {
  return (await page.locator(`#topo g.node[data-kind="${kind}"]`).evaluateAll((els) => els.map((e) => (e as unknown as { dataset: Record<string, string> }).dataset.name ?? ''))).sort();
}

test('the live page shows nodes and edges, follows a container start, and shows a reachability row on click', async () => {
  assert.ok(browser);
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  await page.goto(`${base}/redes/ui`);
  await page.locator('#topo g.node[data-name="front"]').waitFor({ timeout: 20_000 });
  assert.deepEqual(await nodes(page, 'container'), ['front', 'store']);
  assert.deepEqual(await nodes(page, 'network'), ['back', 'bridge']);
  assert.equal(await page.locator('#topo g.edge[data-kind="veth"]').count(), 2);
  assert.equal(await page.locator('#topo g.edge[data-kind="publish"]').count(), 2);
  await page.screenshot({ path: join(ARTIFACTS, 'ui-initial.png') });

  // A container starts: the page redraws by itself (server-sent event), with no reload.
  await page.evaluate(() => { (globalThis as unknown as { marker: number }).marker = 1; });
  await runDetached(sb, ['--name', 'late', '--net', 'back', 'busybox', 'sleep', '3600']);
  await page.locator('#topo g.node[data-name="late"]').waitFor({ timeout: 20_000 });
  assert.equal(await page.evaluate(() => (globalThis as unknown as { marker?: number }).marker), 1, 'the page was not reloaded');
  assert.equal(await page.locator('#topo g.edge[data-kind="veth"]').count(), 3);

  await page.locator('#topo g.node[data-name="store"]').click();
  await page.locator('#row tbody tr').first().waitFor();
  assert.equal(await page.locator('#row-title').textContent(), 'What store reaches');
  assert.equal(await page.locator('#row tbody tr[data-to="late"]').getAttribute('data-verdict'), 'allowed');
  assert.equal(await page.locator('#row tbody tr[data-to="front"]').getAttribute('data-verdict'), 'denied');
  assert.equal(await page.locator('#row tbody tr[data-to="world"]').getAttribute('data-verdict'), 'denied');
  await page.screenshot({ path: join(ARTIFACTS, 'ui-row.png') });
  await page.close();
});
