/**
 * End-to-end test sandboxes: a real redesd in its own `redes sandbox`, driven with the stock docker
 * CLI, with the kernel state read back as JSON.
 *
 * Use:
 *   await using sb = await startSandbox();            // or: const sb = await startSandbox(t)
 *   const { stdout } = await sb.docker(['network', 'ls']);
 *   const links = await sb.ipJson(['link', 'show']);  // `ip -json` in the engine's host netns
 *   const table = await sb.nftJson();                 // the daemon's `inet <name>` table
 * `down()` (also run by dispose and by `t.after` when `t` was given) removes the sandbox and checks
 * that nothing of it is left (`assertNothingLeft`) and that its daemon log holds no escaped error or
 * crash (`daemonLogFaults`): a test whose daemon lost an error fails.
 *
 * Beware:
 * - Names are `e2e` (or another short prefix) + 6 random characters, so two test files never share
 *   one; every kernel object of the sandbox starts with that name.
 * - Everything runs through argv arrays (never a shell), and kernel commands for the sandbox go
 *   through `nsenter --net` or `ip -n`: the machine's root namespace is never touched.
 * - The sandbox CLI is the one under test too: start and restart go through `bin/redes sandbox up`.
 */
import type { TestContext } from 'node:test';
import { randomBytes } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { run, type RunResult } from '../../src/kernel/run.js';
import { netnsList, nsenterArgv } from '../../src/kernel/netns.js';
import { findProcesses, pidAlive, pidCmdline, readPidfile } from '../../src/kernel/process.js';
import { mountsUnder } from '../../src/kernel/mounts.js';
import { cgroupTreeDirs } from '../../src/kernel/cgroups.js';
import { ESCAPED_ERROR_MSG } from '../../src/cli/escaped-errors.js';
import { wireguardIfname, wireguardSocket } from '../../src/kernel/wireguard.js';

/** bin/redes of this checkout (dist/test/helpers/ is three levels below the repo root). */
export const REDES_BIN = fileURLToPath(new URL('../../../bin/redes', import.meta.url));
export const DOCKER_BIN = process.env.REDES_E2E_DOCKER ?? '/usr/local/bin/docker';

export interface CmdOptions {
  input?: string;
  /** Milliseconds before the program is killed (default 30 s). */
  timeoutMs?: number;
  /** Return a non-zero exit instead of throwing. */
  allowFail?: boolean;
}

/** The JSON `nft -j list table` prints: a list of one-key objects (metainfo, table, set, chain, rule). */
export interface NftJson {
  nftables: Array<Record<string, Record<string, unknown>>>;
}

export interface Sandbox extends AsyncDisposable {
  readonly name: string;
  /** `unix:///run/redes/<name>/docker.sock` */
  readonly dockerHost: string;
  /** The socket path itself, for node http. */
  readonly socket: string;
  /** The real docker CLI with DOCKER_HOST set to this sandbox. */
  docker(args: readonly string[], opts?: CmdOptions): Promise<RunResult>;
  /** A program in the engine's host namespace (where the daemon runs). */
  exec(argv: readonly string[], opts?: CmdOptions): Promise<RunResult>;
  /** A program in the world namespace `<name>-world`. */
  world(argv: readonly string[], opts?: CmdOptions): Promise<RunResult>;
  /** `ip -json ARGS` in the engine's host namespace, parsed. */
  ipJson<T = IpLink[]>(args: readonly string[]): Promise<T>;
  /** The daemon's nft table `inet <name>`, parsed; undefined when the table does not exist. */
  nftJson(): Promise<NftJson | undefined>;
  /** The daemon's pid from /run/redes/<name>/redesd.pid, when it is alive. */
  daemonPid(): Promise<number | undefined>;
  /** SIGKILL the daemon and wait until it is gone; returns the pid it had. */
  kill9Daemon(): Promise<number>;
  /** `redes sandbox up --name <name>` again, which starts a dead daemon; returns the new pid. */
  restartDaemon(): Promise<number>;
  /** Remove the sandbox and assert nothing is left; a second call does nothing. */
  down(): Promise<void>;
}

/** One entry of `ip -json addr show` (the fields tests read). */
export interface IpLink {
  ifname: string;
  flags: string[];
  mtu: number;
  operstate?: string;
  linkinfo?: { info_kind?: string };
  addr_info?: Array<{ family: string; local: string; prefixlen: number }>;
}

/** `prefix` (default `e2e`, at most 6 characters) + 6 random characters: a valid sandbox name. */
export function randomSandboxName(prefix = 'e2e'): string {
  if (!/^[a-z][a-z0-9]{0,5}$/.test(prefix)) throw new Error(`invalid sandbox name prefix "${prefix}"`);
  const abc = 'abcdefghijklmnopqrstuvwxyz0123456789';
  return prefix + [...randomBytes(6)].map((b) => abc[b % abc.length]).join('');
}

function describe(argv: readonly string[], r: RunResult): string {
  return `${argv.join(' ')} exited ${r.code}:\n${r.stderr.trim() || r.stdout.trim()}`;
}

export async function cmd(argv: readonly string[], opts: CmdOptions = {}, env?: NodeJS.ProcessEnv): Promise<RunResult> {
  const r = await run(argv, { input: opts.input, timeoutMs: opts.timeoutMs ?? 30_000, allowFailure: true, env });
  if (r.code !== 0 && !opts.allowFail) throw new Error(describe(argv, r));
  return r;
}

/** The environment docker runs with: this sandbox's socket, and nothing from the caller's docker setup. */
export function dockerEnv(dockerHost: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, DOCKER_HOST: dockerHost, DOCKER_CLI_HINTS: 'false' };
  for (const k of ['DOCKER_CONTEXT', 'DOCKER_TLS_VERIFY', 'DOCKER_CERT_PATH', 'DOCKER_API_VERSION']) delete env[k];
  return env;
}

/**
 * Start a fresh sandbox with a running daemon. With `t`, it is removed after the test (or the suite,
 * when `t` is a suite context); without, the caller disposes it.
 */
export async function startSandbox(
  t?: Pick<TestContext, 'after'>,
  opts: { prefix?: string; name?: string; lan?: boolean; daemonArgs?: readonly string[]; daemonEnv?: Readonly<Record<string, string>> } = {},
): Promise<Sandbox> {
  // `name`: one the caller drew with randomSandboxName, to prepare its data root before the start.
  const name = opts.name ?? randomSandboxName(opts.prefix);
  // --lan: also the lan namespace `<name>-lan` (198.51.100.1/24, HTTP) behind the host's eth1.
  const flags = [...(opts.lan ? ['--lan'] : []), ...(opts.daemonArgs ?? []).map((a) => `--daemon-arg=${a}`)];
  // daemonEnv: variables the daemon gets at this start and every restart (the CLI passes its own on).
  const env = opts.daemonEnv && { ...process.env, ...opts.daemonEnv };
  const up = await cmd([REDES_BIN, 'sandbox', 'up', '--name', name, ...flags], { allowFail: true, timeoutMs: 60_000 }, env);
  const sb = makeSandbox(name, env);
  if (up.code !== 0) {
    await sb.down().catch(() => undefined);
    throw new Error(describe([REDES_BIN, 'sandbox', 'up', '--name', name], up));
  }
  if (up.stdout.trim() !== `export DOCKER_HOST=${sb.dockerHost}`) {
    await sb.down().catch(() => undefined);
    throw new Error(`redes sandbox up printed ${JSON.stringify(up.stdout)}`);
  }
  t?.after(() => sb.down());
  return sb;
}

/** The handle of an existing sandbox (a lab host, for instance); `down` removes it. `env`: the CLI's (and so a restarted daemon's) environment. */
export function makeSandbox(name: string, env?: NodeJS.ProcessEnv): Sandbox {
  const execRoot = `/run/redes/${name}`;
  const socket = `${execRoot}/docker.sock`;
  const dockerHost = `unix://${socket}`;
  const pidFile = `${execRoot}/redesd.pid`;
  let downed: Promise<void> | undefined;

  const daemonPid = async (): Promise<number | undefined> => {
    const pid = await readPidfile(pidFile);
    if (pid === undefined || !(await pidAlive(pid))) return undefined;
    const argv = await pidCmdline(pid);
    // Only our sandbox's daemon: its command line carries `--prefix <name>`.
    return argv && argv[argv.indexOf('--prefix') + 1] === name ? pid : undefined;
  };

  const sb: Sandbox = {
    name,
    dockerHost,
    socket,
    docker: (args, opts) => cmd([DOCKER_BIN, ...args], opts, dockerEnv(dockerHost)),
    exec: (argv, opts) => cmd(nsenterArgv(name, argv), opts),
    world: (argv, opts) => cmd(nsenterArgv(`${name}-world`, argv), opts),
    ipJson: async <T>(args: readonly string[]) => JSON.parse((await cmd(['ip', '-json', '-n', name, ...args])).stdout) as T,
    async nftJson() {
      const r = await cmd(nsenterArgv(name, ['nft', '-j', 'list', 'table', 'inet', name]), { allowFail: true });
      if (r.code !== 0) {
        if (/No such file or directory/.test(r.stderr)) return undefined;
        throw new Error(describe(['nft', '-j', 'list', 'table', 'inet', name], r));
      }
      return JSON.parse(r.stdout) as NftJson;
    },
    daemonPid,
    async kill9Daemon() {
      const pid = await daemonPid();
      if (pid === undefined) throw new Error(`sandbox ${name}: no running daemon to kill`);
      process.kill(pid, 'SIGKILL');
      for (let i = 0; (await pidAlive(pid)) && i < 500; i++) await sleep(10);
      if (await pidAlive(pid)) throw new Error(`sandbox ${name}: daemon ${pid} survived SIGKILL`);
      return pid;
    },
    async restartDaemon() {
      await cmd([REDES_BIN, 'sandbox', 'up', '--name', name], { timeoutMs: 60_000 }, env);
      const pid = await daemonPid();
      if (pid === undefined) throw new Error(`sandbox ${name}: no daemon running after restart`);
      return pid;
    },
    down() {
      downed ??= (async () => {
        const faults = await daemonLogFaults(name);
        await cmd([REDES_BIN, 'sandbox', 'down', name], { timeoutMs: 60_000 });
        await assertNothingLeft(name);
        if (faults.length) throw new Error(`sandbox ${name}: the daemon log holds escaped errors:\n${faults.join('\n')}`);
      })();
      return downed;
    },
    [Symbol.asyncDispose]: () => sb.down(),
  };
  return sb;
}

/**
 * Lines of the daemon's log (all its runs) that report an error no request caught: the daemon's
 * `escaped error` lines, or Node's report of a crash (a stack then `Node.js vN`).
 */
export async function daemonLogFaults(name: string): Promise<string[]> {
  const text = await readFile(`/run/redes/${name}/redesd.log`, 'utf8').catch(() => '');
  const lines = text.split('\n');
  const faults: string[] = [];
  lines.forEach((line, i) => {
    if (line.includes(`"msg":"${ESCAPED_ERROR_MSG}"`)) faults.push(line.slice(0, 2000));
    else if (/^Node\.js v\d+/.test(line)) faults.push(lines.slice(Math.max(0, i - 12), i + 1).join('\n'));
  });
  return faults;
}

const exists = (path: string): Promise<boolean> => stat(path).then(() => true, () => false);

/** Processes whose command line names sandbox `name` (its daemon has `--prefix N`, servers `--sandbox N`). */
async function processesOf(name: string): Promise<string[]> {
  const named = (argv: readonly string[]): boolean => ['--prefix', '--sandbox', '--name'].some((flag) => argv.some((a, i) => a === flag && argv[i + 1] === name));
  return (await findProcesses(named)).map((p) => `${p.pid}: ${p.argv.join(' ')}`);
}

/** wireguard-go processes serving interface `ifname` ("PID: argv"). */
async function wireguardGoOf(ifname: string): Promise<string[]> {
  const serving = (argv: readonly string[]): boolean => !!argv[0]?.endsWith('wireguard-go') && argv.includes(ifname);
  return (await findProcesses(serving)).map((p) => `${p.pid}: ${p.argv.join(' ')}`);
}

/**
 * Throws when anything of sandbox `name` is left: a namespace `name` or `name-*`, its exec or data
 * root, a mount under them or of its namespace files, a cgroup named after it, a process, or its
 * WireGuard interface's wireguard-go and control socket.
 */
export async function assertNothingLeft(name: string): Promise<void> {
  const left: string[] = [];
  for (const ns of await netnsList()) if (ns === name || ns.startsWith(`${name}-`)) left.push(`netns ${ns}`);
  for (const dir of [`/run/redes/${name}`, `/var/lib/redes/${name}`]) {
    if (await exists(dir)) left.push(`directory ${dir}`);
    for (const m of await mountsUnder(dir)) left.push(`mount ${m}`);
  }
  for (const m of await mountsUnder('/run/netns')) {
    const base = m.slice('/run/netns/'.length);
    if (base === name || base.startsWith(`${name}-`)) left.push(`mount ${m}`);
  }
  for (const dir of await cgroupTreeDirs(name)) left.push(`cgroup ${dir}`);
  for (const p of await processesOf(name)) left.push(`process ${p}`);
  // Encrypted overlays: the engine's WireGuard interface (a TUN device served by wireguard-go, named
  // after the instance prefix, which is the sandbox's name) and its control socket, shared machine-wide.
  const wgIf = wireguardIfname(name);
  for (const p of await wireguardGoOf(wgIf)) left.push(`wireguard-go ${p}`);
  if (await exists(wireguardSocket(wgIf))) left.push(`WireGuard socket ${wireguardSocket(wgIf)}`);
  if (left.length) throw new Error(`sandbox ${name} left behind:\n  ${left.join('\n  ')}`);
}

/** Every rule of the table, with its chain and comment, for assertions. */
export interface NftRule {
  chain: string;
  comment?: string;
  expr: unknown[];
}

export function nftRules(table: NftJson | undefined): NftRule[] {
  return (table?.nftables ?? [])
    .map((o) => o.rule)
    .filter((r): r is Record<string, unknown> => r !== undefined)
    .map((r) => ({ chain: String(r.chain), comment: r.comment as string | undefined, expr: (r.expr as unknown[]) ?? [] }));
}

/** The elements of set `name` in the table ([] when the set is empty or missing). */
export function nftSetElements(table: NftJson | undefined, name: string): string[] {
  const set = (table?.nftables ?? []).map((o) => o.set).find((s) => s?.name === name);
  return ((set?.elem as unknown[] | undefined) ?? []).map(String);
}

/** The chains of the table, by name. */
export function nftChains(table: NftJson | undefined): string[] {
  return (table?.nftables ?? []).map((o) => o.chain?.name).filter((n): n is string => typeof n === 'string');
}

function operand(x: unknown): string {
  if (typeof x === 'string' || typeof x === 'number') return String(x);
  const o = (x ?? {}) as Record<string, Record<string, unknown> | unknown[]>;
  if (o.payload && !Array.isArray(o.payload)) return `${String(o.payload.protocol)} ${String(o.payload.field)}`;
  if (o.meta && !Array.isArray(o.meta)) return String(o.meta.key);
  if (o.prefix && !Array.isArray(o.prefix)) return `${String(o.prefix.addr)}/${String(o.prefix.len)}`;
  if (Array.isArray(o.set)) return `{ ${o.set.map(operand).join(', ')} }`;
  return JSON.stringify(x);
}

/**
 * A rule of `nft -j` as short text for assertions, one part per expression joined by ' ; ':
 * `ip saddr == 10.1.1.0/24 ; oifname != br-0123456789ab ; masquerade`.
 */
export function nftRuleText(rule: NftRule): string {
  return rule.expr
    .map((e) => {
      const m = (e as { match?: { op: string; left: unknown; right: unknown } }).match;
      return m ? `${operand(m.left)} ${m.op} ${operand(m.right)}` : Object.keys(e as object)[0] ?? '?';
    })
    .join(' ; ');
}
