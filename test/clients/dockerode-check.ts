/**
 * dockerode 5 against a redesd, one JSON line per step (the node twin of docker_py_check.py).
 *
 * Use: DOCKER_HOST=unix:///run/redes/N/docker.sock node dist/test/clients/dockerode-check.js PREFIX
 *   inside the sandbox's host namespace (`redes sandbox exec N -- node ...`); the e2e test
 *   test/e2e/clients-node.test.ts asserts on the lines ({step, ok, ...facts} or {step, ok: false, error}).
 * Beware: objects are named PREFIX-...; the last step removes them all, even after a failed step.
 *   Streams (attach, logs follow, events, stats) are demultiplexed with docker-modem's demuxStream,
 *   as dockerode's users do.
 */
import Docker from 'dockerode';
import { PassThrough, type Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import tar from 'tar-stream';

const PREFIX = process.argv[2] ?? 'dnode';
const docker = new Docker(); // reads DOCKER_HOST
const name = (s: string): string => `${PREFIX}-${s}`;
const keep: Record<string, Docker.Container> = {};

function emit(step: string, ok: boolean, facts: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify({ step, ok, ...facts })}\n`);
}

/** The whole body of a stream. */
async function collect(s: NodeJS.ReadableStream): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of s as Readable) parts.push(Buffer.from(c as Buffer));
  return Buffer.concat(parts);
}

/** Demultiplex a multiplexed (non-TTY) stream into stdout and stderr text. */
async function demux(s: NodeJS.ReadableStream): Promise<{ out: string; err: string }> {
  const out = new PassThrough();
  const err = new PassThrough();
  const o = collect(out);
  const e = collect(err);
  docker.modem.demuxStream(s, out, err);
  await new Promise<void>((resolve, reject) => {
    s.on('end', resolve);
    s.on('close', resolve);
    s.on('error', reject);
  });
  out.end();
  err.end();
  return { out: (await o).toString(), err: (await e).toString() };
}

async function execIn(c: Docker.Container, cmd: string[]): Promise<{ code: number | null | undefined; out: string; err: string }> {
  const ex = await c.exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true });
  const stream = await ex.start({ hijack: true, stdin: false });
  const { out, err } = await demux(stream);
  const info = await ex.inspect();
  return { code: info.ExitCode, out, err };
}

async function runDetached(suffix: string, cmd: string[], extra: Partial<Docker.ContainerCreateOptions> = {}): Promise<Docker.Container> {
  const c = await docker.createContainer({ Image: 'busybox', Cmd: cmd, name: name(suffix), ...extra });
  await c.start();
  return c;
}

const steps: Record<string, () => Promise<Record<string, unknown>>> = {
  async ping() {
    const pong = await docker.ping();
    const v = await docker.version();
    return { ping: String(pong), api: v.ApiVersion };
  },

  async networks() {
    const net = await docker.createNetwork({
      Name: name('net'), Driver: 'bridge', Labels: { dnode: '1' }, CheckDuplicate: true,
      IPAM: { Driver: 'default', Config: [{ Subnet: '10.232.8.0/24', Gateway: '10.232.8.1' }] },
    });
    const got = await net.inspect();
    const srv = await runDetached('srv', ['sleep', '300']);
    keep.srv = srv;
    const cli = await runDetached('cli', ['sleep', '300'], { HostConfig: { NetworkMode: name('net') } });
    keep.cli = cli;
    await net.connect({ Container: srv.id, EndpointConfig: { Aliases: ['nodealias'], IPAMConfig: { IPv4Address: '10.232.8.60' } } });
    const ep = (await srv.inspect()).NetworkSettings.Networks[name('net')];
    const members = Object.values((await net.inspect()).Containers ?? {}).map((c: { Name: string }) => c.Name).sort();
    const ping = await execIn(cli, ['ping', '-c1', '-W3', 'nodealias']);
    await net.disconnect({ Container: srv.id });
    const after = Object.keys((await srv.inspect()).NetworkSettings.Networks).sort();
    const listed = (await docker.listNetworks({ filters: { label: ['dnode=1'] } })).map((n) => n.Name);
    return {
      subnet: got.IPAM?.Config?.[0]?.Subnet, driver: got.Driver, labels: got.Labels,
      aliases: ep?.Aliases ?? [], ip: ep?.IPAddress, members, alias_ping_code: ping.code, after_disconnect: after, listed,
    };
  },

  async containers() {
    const c = await runDetached('life', ['sh', '-c', 'echo out-line; echo err-line >&2; sleep 300'], { Env: ['DN=yes'], Labels: { dnode: 'life' } });
    let logs = { out: '', err: '' };
    for (let i = 0; i < 100 && !logs.err.includes('err-line'); i++) {
      // logs without follow answer a Buffer in dockerode 5: wrap it as a stream to demux it.
      const buf = await c.logs({ stdout: true, stderr: true, follow: false });
      const s = new PassThrough();
      s.end(buf);
      logs = await demux(s);
      if (!logs.err.includes('err-line')) await sleep(200);
    }
    const ex = await execIn(c, ['sh', '-c', 'echo $DN; echo oops >&2; exit 4']);
    const running = (await c.inspect()).State.Status;
    await c.stop({ t: 2 });
    const waited = await c.wait();
    const stopped = (await c.inspect()).State;
    await c.remove();
    const gone = await c.inspect().then(() => false, (e: { statusCode?: number }) => e.statusCode === 404);
    return { logs, exec: ex, running, stopped: stopped.Status, exit_code: stopped.ExitCode, wait_code: waited.StatusCode, removed: gone };
  },

  async attach() {
    // An interactive session: stdin in, demultiplexed stdout back, as `docker attach` does.
    const c = await docker.createContainer({ Image: 'busybox', Cmd: ['sh', '-c', 'while read l; do echo "got:$l"; echo "e:$l" >&2; done'], name: name('att'), OpenStdin: true, StdinOnce: true, AttachStdin: true, AttachStdout: true, AttachStderr: true });
    const stream = await c.attach({ stream: true, stdin: true, stdout: true, stderr: true, hijack: true });
    await c.start();
    const result = demux(stream);
    stream.write('ping one\n');
    stream.write('ping two\n');
    await sleep(500);
    stream.end();
    const { out, err } = await Promise.race([result, sleep(20_000).then(() => ({ out: 'timeout', err: 'timeout' }))]);
    const code = (await c.wait()).StatusCode;
    await c.remove({ force: true });
    // logs follow: a stream that ends when the container exits.
    const f = await runDetached('follow', ['sh', '-c', 'for i in 1 2 3; do echo tick $i; sleep 0.2; done; echo bye >&2']);
    const followed = await demux(await f.logs({ follow: true, stdout: true, stderr: true }));
    await f.remove({ force: true });
    return { out, err, code, followed };
  },

  async volumes() {
    const vol = await docker.createVolume({ Name: name('vol'), Labels: { dnode: 'vol' } });
    const got = await vol.inspect();
    const listed = ((await docker.listVolumes({ filters: { label: ['dnode=vol'] } })).Volumes ?? []).map((x) => x.Name);
    const w = await runDetached('volw', ['sh', '-c', 'echo kept > /data/f'], { HostConfig: { Mounts: [{ Type: 'volume', Source: name('vol'), Target: '/data' }] } });
    await w.wait();
    await w.remove();
    const r = await runDetached('volr', ['cat', '/data/f'], { HostConfig: { Binds: [`${name('vol')}:/data:ro`] } });
    await r.wait();
    const content = (await r.logs({ stdout: true })).toString('latin1').slice(8);
    await r.remove();
    await vol.remove();
    await docker.createVolume({ Name: name('dangling'), Labels: { dnode: 'prune' } });
    const kept = (await docker.pruneVolumes({ filters: { label: ['dnode=prune'] } })).VolumesDeleted ?? [];
    const pruned = await docker.pruneVolumes({ filters: { label: ['dnode=prune'], all: ['true'] } });
    return {
      name: got.Name, driver: got.Driver, labels: got.Labels, scope: got.Scope, listed, content,
      pruned_default: kept, pruned: pruned.VolumesDeleted ?? [], reclaimed: typeof pruned.SpaceReclaimed,
    };
  },

  async events() {
    const since = Math.floor(Date.now() / 1000) - 1;
    const c = await runDetached('ev', ['true'], { Labels: { dnode: 'ev' } });
    await c.wait();
    await c.remove();
    await sleep(1100);
    const until = Math.floor(Date.now() / 1000) + 1;
    const body = await collect(await docker.getEvents({ since, until, filters: { label: ['dnode=ev'], type: ['container'] } }));
    const evs = body.toString().split('\n').filter(Boolean).map((l) => JSON.parse(l) as { Action: string; Type: string; Actor: { Attributes: Record<string, string> } });
    return { actions: evs.map((e) => e.Action), names: [...new Set(evs.map((e) => e.Actor.Attributes.name))], types: [...new Set(evs.map((e) => e.Type))] };
  },

  async stats() {
    const srv = keep.srv!;
    const one = await srv.stats({ stream: false, 'one-shot': true });
    const eth0 = one.networks?.eth0;
    const stream = await srv.stats({ stream: true });
    const first = await new Promise<string>((resolve, reject) => {
      let buf = '';
      stream.on('data', (d: Buffer) => {
        buf += d.toString();
        if (buf.includes('\n')) resolve(buf.slice(0, buf.indexOf('\n')));
      });
      stream.on('error', reject);
    });
    (stream as Readable).destroy();
    const streamed = JSON.parse(first) as Docker.ContainerStats;
    return {
      interfaces: Object.keys(one.networks ?? {}), rx: typeof eth0?.rx_bytes, tx: typeof eth0?.tx_bytes,
      rx_dropped: typeof eth0?.rx_dropped, memory: typeof one.memory_stats?.usage, cpu: typeof one.cpu_stats?.cpu_usage?.total_usage,
      streamed_has_networks: typeof streamed.networks === 'object', name: (one as unknown as { name: string }).name,
    };
  },

  async top() {
    const t = await keep.srv!.top();
    const aux = await keep.srv!.top({ ps_args: 'aux' });
    return { titles: t.Titles, cmds: t.Processes.map((p: string[]) => p[p.length - 1]), aux: aux.Titles[0] };
  },

  async archive() {
    const pack = tar.pack();
    pack.entry({ name: 'dn/hello.txt', mode: 0o600 }, 'hello from dockerode\n');
    pack.finalize();
    await keep.srv!.putArchive(await collect(pack as unknown as Readable), { path: '/tmp' });
    const cat = await execIn(keep.srv!, ['cat', '/tmp/dn/hello.txt']);
    const got = await keep.srv!.getArchive({ path: '/tmp/dn/hello.txt' });
    const extract = tar.extract();
    const files: Record<string, string> = {};
    extract.on('entry', (h, s, next) => {
      void collect(s as unknown as Readable).then((b) => {
        files[h.name] = `${(h.mode ?? 0).toString(8)}:${b.toString()}`;
        next();
      });
    });
    const done = new Promise<void>((resolve) => extract.on('finish', () => resolve()));
    (got as Readable).pipe(extract);
    await done;
    const missing = await keep.srv!.getArchive({ path: '/nope' }).then(() => 0, (e: { statusCode?: number }) => e.statusCode);
    return { cat: cat.out, files, missing };
  },

  async prune() {
    const a = await runDetached('dead1', ['true'], { Labels: { dnode: 'prune' } });
    const b = await runDetached('dead2', ['true']);
    await a.wait();
    await b.wait();
    const r = await docker.pruneContainers({ filters: { label: ['dnode=prune'] } });
    const left = (await docker.listContainers({ all: true, filters: { name: [`${PREFIX}-dead`] } })).map((c) => c.Names[0]);
    const r2 = await docker.pruneContainers();
    const running = (await docker.listContainers({ filters: { name: [PREFIX] } })).map((c) => c.Names[0]).sort();
    return { deleted: r.ContainersDeleted?.length ?? 0, left, deleted_all: r2.ContainersDeleted?.length ?? 0, reclaimed: typeof r.SpaceReclaimed, running };
  },

  async swarm() {
    const status = await docker.swarmLeave({ force: true }).then(() => 200, (e: { statusCode?: number; json?: { message?: string } }) => `${e.statusCode} ${e.json?.message}`);
    return { status };
  },

  async cleanup() {
    for (const c of await docker.listContainers({ all: true, filters: { name: [PREFIX] } })) await docker.getContainer(c.Id).remove({ force: true });
    for (const n of await docker.listNetworks({ filters: { name: [name('net')] } })) await docker.getNetwork(n.Id).remove();
    for (const v of (await docker.listVolumes()).Volumes ?? []) if (v.Name.startsWith(PREFIX)) await docker.getVolume(v.Name).remove();
    const left = (await docker.listContainers({ all: true, filters: { name: [PREFIX] } })).length + (await docker.listNetworks({ filters: { name: [name('net')] } })).length;
    return { left };
  },
};

for (const [step, fn] of Object.entries(steps)) {
  try {
    emit(step, true, await fn());
  } catch (e) {
    const err = e as Error & { statusCode?: number; json?: unknown };
    emit(step, false, { error: `${err.message}`, status: err.statusCode, json: err.json, stack: err.stack?.split('\n').slice(0, 4).join('\n') });
  }
}
emit('done', true, {});
