// Images from Debian packages (`redes image debian`) end to end: nginx and Apache built with mmdebstrap
// (or taken from /var/cache/redes/images when an earlier run built them), loaded into a sandbox's
// daemon, and the course's commands verbatim against them: the nginx page reached from the sandbox
// host, from the world through a published port, the access log in `docker logs`, Apache with bash
// and a legacy link. One sandbox for the file; the tests run in order.
//
// The first run on a machine builds two root filesystems from Debian's archive (minutes each, on the
// machine itself like apt-get); later runs load the cached tarballs in seconds.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { REDES_BIN, startSandbox, type Sandbox } from '../helpers/sandbox.js';
import { inspectContainer, waitFor } from '../helpers/containers.js';
import { run } from '../../src/kernel/run.js';

let sb: Sandbox;
before(async () => {
  sb = await startSandbox(undefined, { prefix: 'img' });
});
after(() => sb?.down());

const HOST = '203.0.113.2';
const BUILD = { timeoutMs: 30 * 60_000 };

async function redesImage(args: string[]): Promise<string> {
  const r = await run([REDES_BIN, 'image', 'debian', '-H', sb.dockerHost, ...args], { ...BUILD, allowFailure: true });
  assert.equal(r.code, 0, `redes image debian ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

const wget = (url: string): string[] => ['timeout', '3', 'busybox', 'wget', '-q', '-O', '-', url];
const answered = (probe: () => Promise<{ code: number; stdout: string }>): Promise<string> =>
  waitFor('an answer', async () => {
    const r = await probe();
    return r.code === 0 ? r.stdout : false;
  }, 10_000);

test('redes image debian --include nginx-light --tag nginx: a Debian-built nginx image with the Hub image defaults', async () => {
  assert.match(await redesImage(['--include', 'nginx-light', '--tag', 'nginx']), /^Loaded image: nginx:latest$/m);
  const [img] = JSON.parse((await sb.docker(['image', 'inspect', 'nginx'])).stdout) as { Id: string; Config: Record<string, unknown>; RootFS: { Layers: string[] } }[];
  assert.ok(img);
  assert.deepEqual(img.Config.Cmd, ['nginx', '-g', 'daemon off;']);
  assert.deepEqual(img.Config.ExposedPorts, { '80/tcp': {} });
  assert.equal((img.Config.Labels as Record<string, string>)['io.redes.image.source'], 'debian-packages');
  assert.equal(img.RootFS.Layers.length, 2);
  // Built once: loading again gives the same image.
  await redesImage(['--include', 'nginx-light', '--tag', 'nginx']);
  const again = (await sb.docker(['image', 'inspect', '-f', '{{.Id}}', 'nginx'])).stdout.trim();
  assert.equal(again, img.Id);
});

test("the course's nginx command verbatim, then nginx's page from the host and, published, from the world", async () => {
  await sb.docker(['network', 'create', '--driver=bridge', '--subnet=10.1.1.0/24', '--gateway=10.1.1.254', 'red_prueba1']);
  await sb.docker(['run', '--net=red_prueba1', '-itd', '--name=contenedor_nginx', 'nginx']);
  const ip = (await inspectContainer(sb, 'contenedor_nginx')).NetworkSettings.Networks.red_prueba1?.IPAddress ?? '';
  assert.match(ip, /^10\.1\.1\.\d+$/);
  assert.match(await answered(() => sb.exec(wget(`http://${ip}/`), { allowFail: true })), /<title>Welcome to nginx!<\/title>/);

  await sb.docker(['run', '-d', '--name', 'web', '-p', '8080:80', 'nginx']);
  assert.match(await answered(() => sb.world(wget(`http://${HOST}:8080/`), { allowFail: true })), /<title>Welcome to nginx!<\/title>/);
  // nginx's access log is the container's stdout, as with the Hub image.
  const logs = await waitFor('the access log line', async () => {
    const l = (await sb.docker(['logs', 'web'])).stdout;
    return /"GET \/ HTTP\/1\.1" 200/.test(l) ? l : false;
  }, 5_000);
  assert.match(logs, /203\.0\.113\.1 /);
  // SIGQUIT (the image's stop signal) is a graceful nginx exit: status 0, not a kill.
  await sb.docker(['stop', 'web']);
  assert.equal((await sb.docker(['inspect', '-f', '{{.State.ExitCode}}', 'web'])).stdout.trim(), '0');
});

test('redes image debian --include apache2 --tag httpd: Apache in the foreground, bash inside, reachable through a link', async () => {
  assert.match(await redesImage(['--include', 'apache2', '--tag', 'httpd']), /^Loaded image: httpd:latest$/m);
  await sb.docker(['run', '-d', '--name', 'apache2', '-p', '8081:80', 'httpd']);
  assert.match(await answered(() => sb.world(wget(`http://${HOST}:8081/`), { allowFail: true })), /It works!/);
  assert.equal((await sb.docker(['exec', 'apache2', 'bash', '-c', 'echo ${BASH_VERSION%%.*}'])).stdout.trim(), '5');
  const viaLink = await sb.docker(['run', '--rm', '--link', 'apache2:alias_apache2', 'busybox', ...wget('http://alias_apache2/')]);
  assert.match(viaLink.stdout, /It works!/);
  await sb.docker(['rm', '-f', 'apache2', 'contenedor_nginx', 'web']);
});

test('bad input is refused before anything is built', async () => {
  const noTag = await run([REDES_BIN, 'image', 'debian', '-H', sb.dockerHost, '--include', 'nginx-light'], { allowFailure: true });
  assert.equal(noTag.code, 1);
  assert.match(noTag.stderr, /--tag NAME\[:TAG\] is required/);
  const badPkg = await run([REDES_BIN, 'image', 'debian', '-H', sb.dockerHost, '--include', 'x;reboot', '--tag', 'x'], { allowFailure: true });
  assert.equal(badPkg.code, 1);
  assert.match(badPkg.stderr, /invalid package name "x;reboot"/);
  const badFlag = await run([REDES_BIN, 'image', 'busybox', '-H', sb.dockerHost, '--include', 'curl'], { allowFailure: true });
  assert.equal(badFlag.code, 2);
  assert.match(badFlag.stderr, /unknown flag --include/);
});
