// `docker build` as users type it (the CLI falls back to the classic builder, POST /build, since no
// buildx plugin is installed): a multi-stage Dockerfile with ARG/--build-arg, a RUN that reaches the
// world's HTTP server through the engine's NAT, COPY --from, .dockerignore, HEALTHCHECK, -f and -t;
// a second build served from the cache; docker history; errors in Docker's words.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSandbox, type Sandbox } from '../helpers/sandbox.js';

let sb: Sandbox;
let ctx: string;
before(async () => {
  sb = await startSandbox(undefined, { prefix: 'bld' });
  ctx = await mkdtemp(join(tmpdir(), 'redes-build-'));
  await mkdir(join(ctx, 'conf'));
  await writeFile(join(ctx, 'conf', 'app.conf'), 'port=80\n');
  await writeFile(join(ctx, 'notes.txt'), 'notes\n');
  await writeFile(join(ctx, 'secret.key'), 'do not ship\n');
  await writeFile(join(ctx, '.dockerignore'), '*.key\n');
  await writeFile(join(ctx, 'build.Dockerfile'), DOCKERFILE);
});
after(async () => {
  await sb?.down();
  if (ctx) await rm(ctx, { recursive: true, force: true });
});

const DOCKERFILE = `# syntax is ignored by the classic builder
ARG BASE=busybox
FROM \${BASE} AS fetch
ARG GREETING=hello
RUN ip -4 addr show eth0 | grep -q 'inet 172\\.17\\.' \\
 && timeout 10 wget -qO /world.txt http://203.0.113.1/ \\
 && echo "$GREETING" > /greeting
COPY . /ctx/
FROM busybox
LABEL stage=final
COPY --from=fetch /world.txt /greeting /srv/
COPY --from=fetch /ctx /srv/ctx
WORKDIR /srv
ENV MODE=prod
HEALTHCHECK --interval=30s --retries=2 CMD test -f /srv/greeting
EXPOSE 8080
CMD ["sh", "-c", "cat greeting world.txt; ls ctx; echo $MODE"]
`;
const STEPS = 14;

const build = (args: string[], allowFail = false) => sb.docker(['build', ...args], { allowFail, timeoutMs: 120_000 });

test('a multi-stage build runs, reaches the world through NAT, honours .dockerignore and ARG', async () => {
  const r = await build(['-f', join(ctx, 'build.Dockerfile'), '-t', 'app:v1', '--build-arg', 'GREETING=hola', ctx]);
  assert.match(r.stdout, new RegExp(`^Step 1/${STEPS} : ARG BASE=busybox$`, 'm'));
  assert.match(r.stdout, new RegExp(`^Step 3/${STEPS} : ARG GREETING=hello$`, 'm'));
  assert.match(r.stdout, /^ ---> Running in [0-9a-f]{12}$/m);
  assert.match(r.stdout, /^ ---> Removed intermediate container [0-9a-f]{12}$/m);
  assert.match(r.stdout, /^Successfully built [0-9a-f]{12}$/m);
  assert.match(r.stdout, /^Successfully tagged app:v1$/m);
  assert.doesNotMatch(r.stdout, /Using cache/);
  const run = await sb.docker(['run', '--rm', 'app:v1']);
  assert.equal(run.stdout, 'hola\nhello from world\nbuild.Dockerfile\nconf\nnotes.txt\nprod\n', 'no secret.key (.dockerignore); .dockerignore itself is copied, as Docker does');
  const cfg = JSON.parse((await sb.docker(['image', 'inspect', '-f', '{{json .Config}}', 'app:v1'])).stdout) as Record<string, unknown>;
  assert.deepEqual(cfg.Healthcheck, { Test: ['CMD-SHELL', 'test -f /srv/greeting'], Interval: 30e9, Retries: 2 });
  assert.equal(cfg.WorkingDir, '/srv');
  assert.deepEqual(cfg.ExposedPorts, { '8080/tcp': {} });
  assert.deepEqual(cfg.Labels, { stage: 'final' });
  // Only the result is listed; RUN containers are gone.
  assert.deepEqual((await sb.docker(['images', '--format', '{{.Repository}}:{{.Tag}}'])).stdout.trim().split('\n').sort(), ['app:v1', 'busybox:latest']);
  assert.equal((await sb.docker(['ps', '-aq'])).stdout.trim(), '');
});

test('a second build is served from the cache and gives the same image', async () => {
  const id = (await sb.docker(['image', 'inspect', '-f', '{{.Id}}', 'app:v1'])).stdout.trim();
  const r = await build(['-q', '-f', join(ctx, 'build.Dockerfile'), '--build-arg', 'GREETING=hola', ctx]);
  assert.equal(r.stdout.trim(), id, 'quiet build prints the id');
  const again = await build(['-f', join(ctx, 'build.Dockerfile'), '-t', 'app:v2', '--build-arg', 'GREETING=hola', ctx]);
  // Every step after the two FROMs and the global ARG: 15 - 3.
  assert.equal(again.stdout.match(/^ ---> Using cache$/gm)?.length, STEPS - 3);
  assert.doesNotMatch(again.stdout, /Running in/);
  assert.equal((await sb.docker(['image', 'inspect', '-f', '{{.Id}}', 'app:v2'])).stdout.trim(), id);
  // A changed build argument runs the RUN again (and what follows it in that stage).
  const other = await build(['-f', join(ctx, 'build.Dockerfile'), '-t', 'app:v3', ctx]);
  assert.match(other.stdout, /Running in/);
  assert.equal((await sb.docker(['run', '--rm', 'app:v3', 'cat', '/srv/greeting'])).stdout, 'hello\n');
  const nocache = await build(['--no-cache', '-f', join(ctx, 'build.Dockerfile'), '--build-arg', 'GREETING=hola', ctx]);
  assert.doesNotMatch(nocache.stdout, /Using cache/);
});

test('docker history lists the steps with their ids', async () => {
  const h = await sb.docker(['history', '--no-trunc', '--format', '{{.ID}}|{{.CreatedBy}}|{{.Size}}', 'app:v1']);
  const rows = h.stdout.trim().split('\n').map((l) => l.split('|'));
  const created = rows.map((r) => r[1]);
  assert.deepEqual(created.slice(0, 3), [
    '/bin/sh -c #(nop)  CMD ["sh", "-c", "cat greeting world.txt; ls ctx; echo $MODE"]',
    '/bin/sh -c #(nop)  EXPOSE 8080',
    '/bin/sh -c #(nop)  HEALTHCHECK --interval=30s --retries=2 CMD test -f /srv/greeting',
  ]);
  assert.ok(created.some((c) => /^\/bin\/sh -c #\(nop\) COPY multi:[0-9a-f]{64} in \/srv\/ $/.test(c ?? '')), created.join('\n'));
  // Every step of the final stage has its image id, down to busybox's.
  const busybox = (await sb.docker(['image', 'inspect', '-f', '{{.Id}}', 'busybox'])).stdout.trim();
  assert.ok(rows.slice(0, 8).every((r) => /^sha256:[0-9a-f]{64}$/.test(r[0] ?? '')), h.stdout);
  assert.equal(rows[8]?.[0], busybox);
  // docker rmi takes the untagged steps below the image with it.
  const rmi = await sb.docker(['rmi', 'app:v3']);
  assert.ok((rmi.stdout.match(/^Deleted: /gm)?.length ?? 0) > 1, rmi.stdout);
  // The first stage's steps are only cache: docker builder prune deletes them, the images stay.
  const prune = await sb.docker(['builder', 'prune', '-f']);
  assert.match(prune.stdout, /^Deleted build cache objects:\nsha256:[0-9a-f]{64}$/m);
  assert.equal((await sb.docker(['run', '--rm', 'app:v1', 'cat', '/srv/greeting'])).stdout, 'hola\n');
});

test('ADD unpacks a local archive; a base image\'s ONBUILD triggers run in the child build', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'redes-build-add-'));
  try {
    await mkdir(join(dir, 'pkg', 'bin'), { recursive: true });
    await writeFile(join(dir, 'pkg', 'bin', 'tool'), '#!/bin/sh\necho tool\n', { mode: 0o755 });
    execFileSync('tar', ['czf', join(dir, 'pkg.tgz'), '-C', join(dir, 'pkg'), '.']);
    await writeFile(join(dir, 'note.txt'), 'from the child context\n');
    await writeFile(join(dir, 'Dockerfile'), 'FROM busybox\nONBUILD COPY note.txt /onbuild/\nONBUILD ENV TRIGGERED=yes\n');
    await build(['-t', 'base:onbuild', dir]);
    await writeFile(join(dir, 'Dockerfile'), 'FROM base:onbuild\nADD pkg.tgz /opt/pkg\nCMD ["sh", "-c", "/opt/pkg/bin/tool; cat /onbuild/note.txt; echo $TRIGGERED"]\n');
    const r = await build(['-t', 'child:v1', dir]);
    assert.match(r.stdout, /^# Executing 2 build triggers$/m);
    assert.equal((await sb.docker(['run', '--rm', 'child:v1'])).stdout, 'tool\nfrom the child context\nyes\n');
    assert.equal((await sb.docker(['image', 'inspect', '-f', '{{json .Config.OnBuild}}', 'child:v1'])).stdout.trim(), 'null', 'triggers are not inherited');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('ADD <URL>: the daemon downloads from the world; named by the URL or the destination, 0600, Last-Modified as mtime, cached by content', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'redes-build-url-'));
  try {
    await writeFile(join(dir, 'Dockerfile'), 'FROM busybox\nADD http://203.0.113.1/files/greeting.txt /srv/\nADD http://203.0.113.1/files/ /srv/named\n');
    const r = await build(['-t', 'url:v1', dir]);
    assert.match(r.stdout, /^Successfully tagged url:v1$/m);
    const st = await sb.docker(['run', '--rm', 'url:v1', 'sh', '-c', "stat -c '%a %u:%g %Y %n' /srv/greeting.txt /srv/named && cat /srv/greeting.txt /srv/named"]);
    // Wed, 21 Oct 2015 07:28:00 GMT, the world server's Last-Modified.
    assert.equal(st.stdout, '600 0:0 1445412480 /srv/greeting.txt\n600 0:0 1445412480 /srv/named\nhello from world\nhello from world\n');
    const history = (await sb.docker(['history', '--no-trunc', '--format', '{{.CreatedBy}}', 'url:v1'])).stdout;
    assert.match(history, /^\/bin\/sh -c #\(nop\) ADD [0-9a-f]{64} in \/srv\/ $/m, history);
    // Downloaded again, same content: both ADD steps come from the cache.
    const again = await build(['-t', 'url:v2', dir]);
    assert.equal(again.stdout.match(/^ ---> Using cache$/gm)?.length, 2, again.stdout);
    const id = (name: string): Promise<string> => sb.docker(['image', 'inspect', '-f', '{{.Id}}', name]).then((x) => x.stdout.trim());
    assert.equal(await id('url:v2'), await id('url:v1'));
    const cases: [string, RegExp][] = [
      ['FROM busybox\nADD http://203.0.113.1/files/ /srv/\n', /^ADD failed: cannot determine filename for source http:\/\/203\.0\.113\.1\/files\/$/m],
      ['FROM busybox\nADD http://203.0.113.1/missing.txt /srv/\n', /^ADD failed: failed to GET http:\/\/203\.0\.113\.1\/missing\.txt with status 404 Not Found: not found$/m],
      ['FROM busybox\nCOPY http://203.0.113.1/files/a.txt /srv/\n', /^COPY failed: source can't be a URL for COPY$/m],
    ];
    for (const [text, stderr] of cases) {
      await writeFile(join(dir, 'Dockerfile'), text);
      const bad = await build([dir], true);
      assert.equal(bad.code, 1, text);
      assert.match(bad.stderr, stderr, text);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("build errors in Docker's words", async () => {
  const dir = await mkdtemp(join(tmpdir(), 'redes-build-err-'));
  try {
    const cases: [string, RegExp, RegExp | undefined][] = [
      ['FROM busybox\nCOPY missing.txt /x\n', /^COPY failed: file not found in build context or excluded by \.dockerignore: stat missing\.txt: file does not exist$/m, undefined],
      ['FROM busybox\nCOPY secret.key /x\n', /^COPY failed: file not found in build context or excluded by \.dockerignore: stat secret\.key: file does not exist$/m, undefined],
      ['FROM busybox\nFORM x\n', /^Error response from daemon: dockerfile parse error on line 2: unknown instruction: FORM \(did you mean FROM\?\)$/m, undefined],
      ['FROM busybox\nRUN --mount=type=cache,target=/c true\n', /dockerfile parse error on line 2: the --mount option requires BuildKit/, undefined],
      ['FROM --platform=linux/arm64 busybox\n', /^FROM --platform=linux\/arm64: this engine builds for linux\/amd64 only$/m, undefined],
      ['FROM busybox\nRUN echo before; exit 3\n', /^The command '\/bin\/sh -c echo before; exit 3' returned a non-zero code: 3$/m, /^before$/m],
    ];
    await writeFile(join(dir, 'secret.key'), 'k\n');
    await writeFile(join(dir, '.dockerignore'), '*.key\n');
    for (const [text, stderr, stdout] of cases) {
      await writeFile(join(dir, 'Dockerfile'), text);
      const r = await build([dir], true);
      assert.equal(r.code, 1, text);
      assert.match(r.stderr, stderr, text);
      if (stdout) assert.match(r.stdout, stdout, text);
    }
    // As dockerd: the failed RUN's container stays for inspection unless --force-rm.
    assert.match((await sb.docker(['ps', '-a', '--format', '{{.Status}}'])).stdout, /^Exited \(3\)/m);
    await writeFile(join(dir, 'Dockerfile'), 'FROM busybox\nRUN exit 4\n');
    await build(['--force-rm', dir], true);
    assert.doesNotMatch((await sb.docker(['ps', '-a', '--format', '{{.Status}}'])).stdout, /Exited \(4\)/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
