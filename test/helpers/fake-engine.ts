/**
 * An in-memory ContainerService for the API tests: no processes, no namespaces. A container's
 * command picks one of a few scripted programs, so the docker CLI sees real output and exit codes:
 *
 *   echo ARGS…                 prints ARGS on stdout, exits 0
 *   say-exit CODE [OUT] [ERR]  prints OUT on stdout and ERR on stderr, exits CODE
 *   cat                        copies stdin to stdout until stdin ends, exits 0
 *   tty-echo                   echoes stdin until it reads 'q', exits 7
 *   sleep                      runs until stopped (143) or killed (137)
 *   fail-start                 (exec only) execStart rejects
 *
 * Every call is recorded in `calls` (method and arguments) for assertions.
 */
import { EventEmitter } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import type { TestContext } from 'node:test';
import type { AttachSession, ContainerRecord, ContainerService, EndpointRecord, ExecRecord, LogLine, LogOptions, OutputChunk, NetworkRecord } from '../../src/engine/index.js';
import { conflict, internal, notFound, newId, nowRfc3339Nano, ZERO_TIME } from '../../src/util/index.js';
import { Router } from '../../src/api/router.js';
import { systemRoutes } from '../../src/api/handlers/system.js';
import { containerRoutes } from '../../src/api/handlers/containers.js';
import { serveForCli, type CliResult } from './cli-harness.js';

interface Io {
  out(stream: 'stdout' | 'stderr', data: string | Buffer): void;
  stdin: PassThrough;
  /** Resolves with the exit code a stop or kill asks for. */
  killed: Promise<number>;
}

const PROGRAMS: Record<string, (io: Io, args: string[]) => Promise<number>> = {
  echo: async (io, args) => (io.out('stdout', `${args.join(' ')}\n`), 0),
  'say-exit': async (io, [code = '0', out, err]) => {
    if (out) io.out('stdout', `${out}\n`);
    if (err) io.out('stderr', `${err}\n`);
    return Number(code);
  },
  cat: (io) =>
    new Promise((resolve) => {
      io.stdin.on('data', (d: Buffer) => io.out('stdout', d));
      io.stdin.on('end', () => resolve(0));
      void io.killed.then(resolve);
    }),
  'tty-echo': (io) =>
    new Promise((resolve) => {
      io.stdin.on('data', (d: Buffer) => {
        io.out('stdout', d);
        if (d.includes('q')) resolve(7);
      });
      void io.killed.then(resolve);
    }),
  sleep: (io) => io.killed,
};

interface Fake {
  rec: ContainerRecord;
  log: LogLine[];
  sessions: Set<PassThrough>;
  stdin: PassThrough | null;
  kill?: (code: number) => void;
  events: EventEmitter;
  resized?: [number, number];
}

/** Runs a program; output goes to `emit`, the exit code to the returned promise. */
function runProgram(argv: string[], stdin: PassThrough, emit: (c: OutputChunk) => void): { exit: Promise<number>; kill: (code: number) => void } {
  let kill: (code: number) => void = () => undefined;
  const killed = new Promise<number>((r) => (kill = r));
  const program = PROGRAMS[argv[0] ?? ''] ?? (async (io: Io) => (io.out('stderr', `exec: "${argv[0]}": not found\n`), 127));
  const io: Io = { out: (stream, data) => emit({ stream, data: Buffer.from(data) }), stdin, killed };
  // Like a real process, output comes after start() has answered.
  const exit = new Promise<void>((r) => setImmediate(r)).then(() => program(io, argv.slice(1)));
  return { exit, kill };
}

/** The create body without the parts that are not Config. */
function configOf(body: Record<string, unknown>): Record<string, unknown> {
  const { HostConfig: _h, NetworkingConfig: _n, ...config } = body;
  return config;
}

function session(tty: boolean, output: PassThrough, stdin: PassThrough | null, onResize: (h: number, w: number) => void, onClose: () => void): AttachSession {
  const input = stdin
    ? new Writable({
        write: (c: Buffer, _e, cb) => (stdin.write(c), cb()),
        final: (cb) => (stdin.end(), cb()),
      })
    : null;
  return { tty, output, stdin: input, resize: onResize, close: () => (onClose(), output.end()) };
}

export class FakeContainers implements ContainerService {
  readonly calls: Array<[string, ...unknown[]]> = [];
  readonly containers = new Map<string, Fake>();
  readonly execs = new Map<string, ExecRecord & { resized?: [number, number] }>();
  private nextIp = 2;

  async create(name: string | undefined, body: unknown, apiVersion: string): Promise<{ id: string; warnings: string[] }> {
    this.calls.push(['create', name, body, apiVersion]);
    const b = body as Record<string, unknown>;
    const host = (b.HostConfig ?? {}) as Record<string, unknown>;
    const id = newId();
    const cname = name ?? `fake_${id.slice(0, 6)}`;
    if ([...this.containers.values()].some((c) => c.rec.name === cname)) {
      throw conflict('container.name_in_use', `Conflict. The container name "/${cname}" is already in use`);
    }
    const cmd = [...((b.Entrypoint as string[] | null) ?? []), ...((b.Cmd as string[] | null) ?? [])];
    const mode = typeof host.NetworkMode === 'string' && host.NetworkMode !== 'default' ? host.NetworkMode : 'bridge';
    const rec: ContainerRecord = {
      id, name: cname, created: nowRfc3339Nano(), image: `sha256:${'ab'.repeat(32)}`, imageRef: String(b.Image ?? ''),
      path: cmd[0] ?? '', args: cmd.slice(1), config: { ...configOf(b), Hostname: id.slice(0, 12) }, hostConfig: { ...host, NetworkMode: mode },
      networkMode: mode, endpoints: {}, restartCount: 0, netns: mode.startsWith('container:') ? 'other' : `fake-${id.slice(0, 8)}`,
      state: { status: 'created', pid: 0, exitCode: 0, error: '', startedAt: ZERO_TIME, finishedAt: ZERO_TIME, oomKilled: false },
      hostnamePath: '', hostsPath: '', resolvConfPath: '', logPath: '', dir: '',
    };
    if (mode === 'bridge') rec.endpoints.bridge = this.endpoint('bridge', 'bridge-id');
    this.containers.set(id, { rec, log: [], sessions: new Set(), stdin: b.OpenStdin ? new PassThrough() : null, events: new EventEmitter() });
    return { id, warnings: [] };
  }

  endpoint(networkName: string, networkId: string): EndpointRecord {
    return {
      networkId, networkName, endpointId: '', ipamConfig: {}, aliases: [], links: [], macAddress: '', ipv4Address: '', ipv4PrefixLen: 0,
      ipv4Gateway: '', ipv6Address: '', ipv6PrefixLen: 0, ipv6Gateway: '', ifname: 'eth0', hostIfname: '', dnsNames: [],
    };
  }

  private get(term: string): Fake {
    const t = term.replace(/^\//, '');
    const all = [...this.containers.values()];
    const c = this.containers.get(t) ?? all.find((x) => x.rec.name === t) ?? (t ? all.filter((x) => x.rec.id.startsWith(t)) : []).at(0);
    if (!c) throw notFound('container.not_found', `No such container: ${term}`);
    return c;
  }

  resolve(term: string): ContainerRecord {
    return this.get(term).rec;
  }

  list(opts: { all: boolean; filters?: string | null; limit?: number }): ContainerRecord[] {
    this.calls.push(['list', opts]);
    const recs = [...this.containers.values()].map((c) => c.rec).filter((r) => opts.all || r.state.status === 'running');
    return recs.reverse().slice(0, opts.limit && opts.limit > 0 ? opts.limit : undefined);
  }

  async start(term: string): Promise<boolean> {
    this.calls.push(['start', term]);
    const c = this.get(term);
    if (c.rec.state.status === 'running') return false;
    c.rec.state = { ...c.rec.state, status: 'running', pid: 4242, startedAt: nowRfc3339Nano(), exitCode: 0 };
    for (const ep of Object.values(c.rec.endpoints)) Object.assign(ep, this.addresses());
    const stdin = c.stdin ?? new PassThrough().end();
    const p = runProgram([c.rec.path, ...c.rec.args], stdin as PassThrough, (chunk) => {
      const line: LogLine = { ...chunk, time: nowRfc3339Nano() };
      c.log.push(line);
      for (const s of c.sessions) s.write(chunk);
      c.events.emit('log', line);
    });
    c.kill = p.kill;
    void p.exit.then((code) => this.exited(c, code));
    return true;
  }

  private addresses(): Partial<EndpointRecord> {
    const n = this.nextIp++;
    return { endpointId: 'e'.repeat(63) + String(n % 10), macAddress: `02:42:ac:11:00:0${n % 10}`, ipv4Address: `172.17.0.${n}`, ipv4PrefixLen: 16, ipv4Gateway: '172.17.0.1' };
  }

  private exited(c: Fake, code: number): void {
    c.rec.state = { ...c.rec.state, status: 'exited', pid: 0, exitCode: code, finishedAt: nowRfc3339Nano() };
    for (const ep of Object.values(c.rec.endpoints)) Object.assign(ep, { endpointId: '', ipv4Address: '', ipv4PrefixLen: 0, ipv4Gateway: '', macAddress: '' });
    for (const s of c.sessions) s.end();
    c.sessions.clear();
    c.kill = undefined;
    c.events.emit('exit', code);
    if (c.rec.hostConfig.AutoRemove === true) void this.remove(c.rec.id, { force: false, volumes: false, link: false });
  }

  async stop(term: string, opts: { signal?: string; timeout?: number }): Promise<boolean> {
    this.calls.push(['stop', term, opts]);
    const c = this.get(term);
    if (!c.kill) return false;
    await this.endWith(c, 143);
    return true;
  }

  private endWith(c: Fake, code: number): Promise<void> {
    return new Promise((resolve) => {
      c.events.once('exit', () => resolve());
      c.kill?.(code);
    });
  }

  async restart(term: string, opts: { signal?: string; timeout?: number }): Promise<void> {
    this.calls.push(['restart', term, opts]);
    const c = this.get(term);
    if (c.kill) await this.endWith(c, 143);
    c.rec.restartCount++;
    await this.start(c.rec.id);
  }

  async kill(term: string, signal?: string): Promise<void> {
    this.calls.push(['kill', term, signal]);
    const c = this.get(term);
    if (!c.kill) throw conflict('container.not_running', `container ${c.rec.id} is not running`);
    await this.endWith(c, 137);
  }

  wait(term: string, condition: string): Promise<{ StatusCode: number; Error: { Message: string } | null }> {
    this.calls.push(['wait', term, condition]);
    const c = this.get(term);
    const result = (): { StatusCode: number; Error: null } => ({ StatusCode: c.rec.state.exitCode, Error: null });
    if (condition === 'not-running' && !c.kill) return Promise.resolve(result());
    const event = condition === 'removed' ? 'removed' : 'exit';
    return new Promise((resolve) => c.events.once(event, () => resolve(result())));
  }

  async remove(term: string, opts: { force: boolean; volumes: boolean; link: boolean }): Promise<void> {
    this.calls.push(['remove', term, opts]);
    const c = this.get(term);
    if (c.kill && !opts.force) throw conflict('container.running', `cannot remove container "${term}": container is running: stop the container before removing or force remove`);
    if (c.kill) await this.endWith(c, 137);
    this.containers.delete(c.rec.id);
    c.events.emit('removed');
  }

  async rename(term: string, newName: string): Promise<void> {
    this.calls.push(['rename', term, newName]);
    this.get(term).rec.name = newName;
  }

  async attach(term: string, opts: { stdin: boolean; stdout: boolean; stderr: boolean; logs: boolean; stream: boolean }): Promise<AttachSession> {
    this.calls.push(['attach', term, opts]);
    const c = this.get(term);
    const output = new PassThrough({ objectMode: true });
    const live = c.kill !== undefined || c.rec.state.status === 'created';
    if (opts.stream && live) c.sessions.add(output);
    else output.end();
    const tty = c.rec.config.Tty === true;
    return session(tty, output, opts.stdin ? c.stdin : null, (h, w) => (c.resized = [h, w]), () => c.sessions.delete(output));
  }

  async *logs(term: string, opts: LogOptions): AsyncIterable<LogLine> {
    this.calls.push(['logs', term, { ...opts, signal: undefined }]);
    const c = this.get(term);
    const wanted = (l: LogLine): boolean => (l.stream === 'stdout' ? opts.stdout : opts.stderr);
    let lines = c.log.slice();
    if (opts.tail !== undefined) lines = opts.tail === 0 ? [] : lines.slice(-opts.tail);
    yield* lines.filter(wanted);
    if (!opts.follow || !c.kill) return;
    const queue: LogLine[] = [];
    let wake: (() => void) | undefined;
    let over = false;
    const onLog = (l: LogLine): void => (queue.push(l), wake?.());
    const onEnd = (): void => ((over = true), wake?.());
    c.events.on('log', onLog);
    c.events.once('exit', onEnd);
    opts.signal?.addEventListener('abort', onEnd);
    try {
      while (!over || queue.length) {
        const next = queue.shift();
        if (next) {
          if (wanted(next)) yield next;
        } else await new Promise<void>((r) => (wake = r));
      }
    } finally {
      c.events.off('log', onLog);
      c.events.off('exit', onEnd);
    }
  }

  async resize(term: string, height: number, width: number): Promise<void> {
    this.calls.push(['resize', term, height, width]);
    this.get(term).resized = [height, width];
  }

  async execCreate(term: string, body: unknown): Promise<string> {
    this.calls.push(['execCreate', term, body]);
    const c = this.get(term);
    if (!c.kill) throw conflict('container.not_running', `container ${c.rec.id} is not running`);
    const b = body as Record<string, unknown>;
    const cmd = b.Cmd as string[];
    const id = newId();
    this.execs.set(id, {
      id, containerId: c.rec.id, running: false, exitCode: null, pid: 0, openStdin: b.AttachStdin === true, openStdout: true, openStderr: true,
      tty: b.Tty === true, entrypoint: cmd[0] ?? '', arguments: cmd.slice(1), privileged: false, user: String(b.User ?? ''), workingDir: '',
      env: [], detachKeys: String(b.DetachKeys ?? ''), canRemove: false,
    });
    return id;
  }

  async execStart(execId: string, opts: { detach: boolean; tty: boolean; consoleSize?: [number, number] }): Promise<AttachSession | null> {
    this.calls.push(['execStart', execId, opts]);
    const e = this.execInspect(execId);
    if (e.entrypoint === 'fail-start') throw internal('runtime.exec_failed', 'OCI runtime exec failed: fail-start was asked to fail');
    const output = new PassThrough({ objectMode: true });
    const stdin = new PassThrough();
    if (!e.openStdin) stdin.end();
    e.running = true;
    e.pid = 5151;
    const p = runProgram([e.entrypoint, ...e.arguments], stdin, (c) => !opts.detach && output.write(c));
    // The output ends a moment before the exit code is known, as with a real shim.
    void p.exit.then((code) => {
      output.end();
      setTimeout(() => Object.assign(e, { running: false, exitCode: code }), 30);
    });
    if (opts.detach) return null;
    return session(e.tty, output, e.openStdin ? stdin : null, (h, w) => (e.resized = [h, w]), () => undefined);
  }

  execInspect(execId: string): ExecRecord & { resized?: [number, number] } {
    const e = this.execs.get(execId);
    if (!e) throw notFound('exec.not_found', `No such exec instance: ${execId}`);
    return e;
  }

  async execResize(execId: string, height: number, width: number): Promise<void> {
    this.calls.push(['execResize', execId, height, width]);
    this.execInspect(execId).resized = [height, width];
  }

  async connect(networkTerm: string, containerTerm: string, endpointConfig: unknown): Promise<void> {
    this.calls.push(['connect', networkTerm, containerTerm, endpointConfig]);
    const c = this.get(containerTerm);
    c.rec.endpoints[networkTerm] = { ...this.endpoint(networkTerm, `${networkTerm}-id`), ...(c.kill ? this.addresses() : {}) };
  }

  async disconnect(networkTerm: string, containerTerm: string, force: boolean): Promise<void> {
    this.calls.push(['disconnect', networkTerm, containerTerm, force]);
    delete this.get(containerTerm).rec.endpoints[networkTerm];
  }

  counts(): { containers: number; running: number; paused: number; stopped: number } {
    const all = [...this.containers.values()];
    const running = all.filter((c) => c.kill).length;
    return { containers: all.length, running, paused: 0, stopped: all.length - running };
  }

  endpointsOfNetwork(networkId: string): Array<{ container: ContainerRecord; endpoint: EndpointRecord }> {
    return [...this.containers.values()].flatMap((c) =>
      Object.values(c.rec.endpoints).filter((ep) => ep.networkId === networkId).map((endpoint) => ({ container: c.rec, endpoint })),
    );
  }

  /** The fake's view of a container, for assertions (resize, log). */
  fake(term: string): Fake {
    return this.get(term);
  }
}

export const BRIDGE: NetworkRecord = {
  id: 'bridge-id', name: 'bridge', driver: 'bridge', scope: 'local', created: ZERO_TIME, internal: false, attachable: false,
  enableIPv4: true, enableIPv6: false, ipam: { driver: 'default', options: null }, options: {}, labels: {}, predefined: true,
  driverOptions: { attach: 'interface', icc: true, publishHostIp: '0.0.0.0', reserved: {}, own: {} },
};

export type { CliResult };

export interface FakeEngine {
  fake: FakeContainers;
  sock: string;
  env: NodeJS.ProcessEnv;
  /** Runs the docker CLI against the server (60 s timeout), feeding `input` as its stdin. */
  docker(args: string[], input?: string): Promise<CliResult>;
  /** Runs a program with the CLI's environment (e.g. `script` to give the CLI a terminal). */
  exec(argv: string[], input?: string, timeoutMs?: number): Promise<CliResult>;
  /** A raw connection to the server. */
  raw(): Promise<Socket>;
}

/** A real API server with the container routes over a FakeContainers on `<tmp>/docker.sock`. */
export async function startFakeEngine(t: TestContext): Promise<FakeEngine> {
  const dir = await mkdtemp(join(tmpdir(), 'redes-api-containers-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const fake = new FakeContainers();
  const router = new Router();
  systemRoutes(router, {
    daemonId: 'test', dataRoot: dir, counts: () => ({ ...fake.counts(), images: 0 }), iptables: false, hostFacts: async () => ({ cgroupVersion: '1', ipv4Forwarding: true }), defaultAddressPools: [],
  });
  containerRoutes(router, { containers: fake, networks: { all: () => [BRIDGE] } });
  const { sock, env, exec, docker } = await serveForCli(t, dir, router);
  const raw = (): Promise<Socket> =>
    new Promise((resolve, reject) => {
      const s = connect(sock);
      s.once('connect', () => resolve(s));
      s.once('error', reject);
    });
  return { fake, sock, env, docker, exec, raw };
}

/** Everything a raw connection receives until the server ends it. */
export function readAll(s: Socket): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('end', () => resolve(Buffer.concat(chunks)));
    s.on('error', reject);
  });
}

/** Splits a raw HTTP response into its head (status line and headers) and the bytes after it. */
export function splitHead(b: Buffer): { status: number; headers: Record<string, string>; body: Buffer } {
  const end = b.indexOf('\r\n\r\n');
  const lines = b.subarray(0, end).toString().split('\r\n');
  const headers: Record<string, string> = {};
  for (const l of lines.slice(1)) {
    const i = l.indexOf(':');
    headers[l.slice(0, i).toLowerCase()] = l.slice(i + 1).trim();
  }
  return { status: Number((lines[0] ?? '').split(' ')[1]), headers, body: b.subarray(end + 4) };
}
