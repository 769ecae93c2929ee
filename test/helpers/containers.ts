/**
 * Helpers for the container end-to-end tests and benchmarks: docker inspect as typed JSON, a
 * container's network namespace and its kernel state (`ip -json -n`), docker through a
 * pseudo-terminal, polling, and a list of what a removed container left behind.
 *
 * Use:
 *   const c = await inspectContainer(sb, 'c1');
 *   const links = await ipIn(containerNetns(sb, c.Id), ['addr', 'show']);
 *   assert.deepEqual(await containerTraces(sb, c.Id), []);
 *
 * Beware: every kernel read goes through `ip -n <sandbox>-c-...` or the sandbox host (`sb.ipJson`),
 * never the machine's root namespace. `dockerTty` runs docker under `script(1)`, whose command is a
 * shell string: it is built only from constant arguments quoted here, never from outside input.
 */
import { spawn } from 'node:child_process';
import { readdir, stat } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { run, type RunResult } from '../../src/kernel/run.js';
import { mountsUnder } from '../../src/kernel/mounts.js';
import { netnsList } from '../../src/kernel/netns.js';
import { DOCKER_BIN, type IpLink, type Sandbox } from './sandbox.js';

export interface EndpointSettings {
  IPAMConfig: { IPv4Address?: string; IPv6Address?: string } | null;
  Links: string[] | null;
  Aliases: string[] | null;
  MacAddress: string;
  NetworkID: string;
  EndpointID: string;
  Gateway: string;
  IPAddress: string;
  IPPrefixLen: number;
  DNSNames: string[] | null;
}

export interface ContainerInspect {
  Id: string;
  Name: string;
  RestartCount: number;
  State: { Status: string; Running: boolean; Pid: number; ExitCode: number; StartedAt: string; FinishedAt: string; Error: string };
  HostConfig: { NetworkMode: string };
  Config: { Hostname: string };
  NetworkSettings: {
    SandboxKey: string;
    IPAddress: string;
    Gateway: string;
    IPPrefixLen: number;
    MacAddress: string;
    Networks: Record<string, EndpointSettings>;
  };
}

/** One `ip -json route` entry. */
export interface IpRoute {
  dst: string;
  gateway?: string;
  dev: string;
}

/** `ip -json link` of a veth end: its peer's ifindex, and the peer's netns id when elsewhere. */
export interface IpLinkPeer extends IpLink {
  ifindex: number;
  address: string;
  master?: string;
  link_index?: number;
  link_netnsid?: number;
}

export const lines = (s: string): string[] => s.split('\n').filter(Boolean);

export async function inspectContainer(sb: Sandbox, ref: string): Promise<ContainerInspect> {
  const all = JSON.parse((await sb.docker(['container', 'inspect', ref])).stdout) as ContainerInspect[];
  if (all.length !== 1 || !all[0]) throw new Error(`docker container inspect ${ref}: ${all.length} results`);
  return all[0];
}

/** The named netns the daemon gives a container: `<sandbox>-c-<12 hex of id>`. */
export const containerNetns = (sb: Sandbox, id: string): string => `${sb.name}-c-${id.slice(0, 12)}`;

/** `ip -json -n NETNS ARGS`, parsed. */
export async function ipIn<T = IpLinkPeer[]>(netns: string, args: readonly string[]): Promise<T> {
  return JSON.parse((await run(['ip', '-json', '-n', netns, ...args], { timeoutMs: 10_000 })).stdout) as T;
}

/** IPv4 `addr/len` of each link of a parsed `ip -json addr`, by link name. */
export function v4ByLink(links: readonly IpLink[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const l of links) out[l.ifname] = (l.addr_info ?? []).filter((a) => a.family === 'inet').map((a) => `${a.local}/${a.prefixlen}`);
  return out;
}

/** `docker run -d ARGS`: the new container's id (64 hex), or throws with docker's stderr. */
export async function runDetached(sb: Sandbox, args: readonly string[]): Promise<string> {
  const { stdout } = await sb.docker(['run', '-d', ...args], { timeoutMs: 30_000 });
  const id = stdout.trim();
  if (!/^[0-9a-f]{64}$/.test(id)) throw new Error(`docker run -d ${args.join(' ')} printed ${JSON.stringify(stdout)}`);
  return id;
}

/** Host-side veth ends (`veth` + 7 hex, Docker's naming) in the sandbox host namespace. */
export async function hostVeths(sb: Sandbox): Promise<IpLinkPeer[]> {
  return (await sb.ipJson<IpLinkPeer[]>(['link', 'show', 'type', 'veth'])).filter((l) => /^veth[0-9a-f]{7}$/.test(l.ifname));
}

/** The host end of `ifname` in the container namespace `netns` (found by its peer ifindex). */
export async function hostPeerOf(sb: Sandbox, netns: string, ifname: string): Promise<IpLinkPeer | undefined> {
  const [inside] = await ipIn(netns, ['link', 'show', 'dev', ifname]);
  if (!inside?.link_index) return undefined;
  return (await sb.ipJson<IpLinkPeer[]>(['link', 'show'])).find((l) => l.ifindex === inside.link_index);
}

const exists = (path: string): Promise<boolean> => stat(path).then(() => true, () => false);

/**
 * What container `id` left in the kernel and on disk after it was removed: its netns, mounts and
 * directory under the sandbox data root, its runc state, and its cgroup in any hierarchy. [] = clean.
 */
export async function containerTraces(sb: Sandbox, id: string): Promise<string[]> {
  const left: string[] = [];
  const ns = containerNetns(sb, id);
  if ((await netnsList()).includes(ns)) left.push(`netns ${ns}`);
  const dir = `/var/lib/redes/${sb.name}/containers/${id}`;
  for (const m of await mountsUnder(dir)) left.push(`mount ${m}`);
  if (await exists(dir)) left.push(`directory ${dir}`);
  const runc = `/run/redes/${sb.name}/runc/${id}`;
  if (await exists(runc)) left.push(`runc state ${runc}`);
  for (const h of await readdir('/sys/fs/cgroup').catch(() => [] as string[])) {
    const cg = `/sys/fs/cgroup/${h}/${sb.name}/${id}`;
    if (await exists(cg)) left.push(`cgroup ${cg}`);
  }
  return left;
}

/** Everything the sandbox's containers may hold: its `-c-` namespaces, veths, rootfs mounts (below the containers directory), cgroups. */
export async function allContainerTraces(sb: Sandbox): Promise<string[]> {
  const left: string[] = [];
  for (const ns of await netnsList()) if (ns.startsWith(`${sb.name}-c-`)) left.push(`netns ${ns}`);
  for (const l of await hostVeths(sb)) left.push(`veth ${l.ifname}`);
  // The directory itself is the daemon's (bound onto itself for runc's private mount namespaces), not a container's.
  const dir = `/var/lib/redes/${sb.name}/containers`;
  for (const m of await mountsUnder(dir)) if (m !== dir) left.push(`mount ${m}`);
  for (const h of await readdir('/sys/fs/cgroup').catch(() => [] as string[])) {
    const dir = `/sys/fs/cgroup/${h}/${sb.name}`;
    for (const c of await readdir(dir, { withFileTypes: true }).catch(() => [])) if (c.isDirectory()) left.push(`cgroup ${dir}/${c.name}`);
  }
  return left;
}

/** Polls `check` every 50 ms until it returns a value other than undefined/false; throws after `ms`. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined | false>, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(50);
  }
}

/** Single-quotes a constant word for the shell `script -c` runs. */
function quote(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/**
 * `docker ARGS` with a pseudo-terminal as its stdin/stdout (`script -qec`), sized `rows`×`cols`
 * first with stty. Output has the terminal's \r\n line ends. script's own stdin stays open until
 * docker exits: at EOF script would push an end-of-file byte through the terminal, which shows up
 * echoed in the output.
 */
export function dockerTty(sb: Sandbox, args: readonly string[], size = { rows: 40, cols: 100 }): Promise<RunResult> {
  const line = `stty rows ${size.rows} cols ${size.cols}; exec ${[DOCKER_BIN, ...args].map(quote).join(' ')}`;
  const env: NodeJS.ProcessEnv = { ...process.env, DOCKER_HOST: sb.dockerHost, DOCKER_CLI_HINTS: 'false', TERM: 'xterm' };
  for (const k of ['DOCKER_CONTEXT', 'DOCKER_TLS_VERIFY', 'DOCKER_CERT_PATH', 'DOCKER_API_VERSION']) delete env[k];
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qec', line, '/dev/null'], { env, stdio: ['pipe', 'pipe', 'pipe'], timeout: 30_000, killSignal: 'SIGKILL' });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.stdin.on('error', () => undefined);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      child.stdin.destroy();
      resolve({ code: code ?? (signal ? 128 : 1), stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
    });
  });
}
