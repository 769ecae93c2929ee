/**
 * End-to-end test labs: several engine hosts on one LAN (`redes lab up`), each a sandbox with its own
 * redesd, driven with the stock docker CLI.
 *
 * Use:
 *   const lab = await startLab(t, { hosts: 3 });     // removed after the test (or suite)
 *   await lab.hosts[0].docker(['swarm', 'init', '--advertise-addr', lab.lanAddr(1)]);
 *   await lab.context(2, ['node', 'ls']);            // docker --context <lab>-2 node ls
 * `down()` runs `redes lab down` and asserts nothing of the lab is left (namespaces, state, etcd and
 * other processes, docker contexts).
 *
 * Beware: lab names are `e` + 6 random letters + `x` (8 characters, ending with a letter); host
 * sandboxes are the lab name + the host number.
 */
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import { randomBytes } from 'node:crypto';
import { readdir, stat } from 'node:fs/promises';
import { netnsList } from '../../src/kernel/netns.js';
import { pidCmdline } from '../../src/kernel/process.js';
import type { RunResult } from '../../src/kernel/run.js';
import { DOCKER_BIN, REDES_BIN, assertNothingLeft, cmd, makeSandbox, type CmdOptions, type Sandbox } from './sandbox.js';

export interface Lab extends AsyncDisposable {
  readonly name: string;
  /** Host i is hosts[i - 1]. */
  readonly hosts: Sandbox[];
  /** The LAN address of host i (1-based): 198.51.100.(10 + i). */
  lanAddr(i: number): string;
  /** `docker --context <lab>-<i> ARGS` (through the CLI's context store, no DOCKER_HOST). */
  context(i: number, args: readonly string[], opts?: CmdOptions): Promise<RunResult>;
  /** A program in the lab's LAN namespace. */
  lan(argv: readonly string[], opts?: CmdOptions): Promise<RunResult>;
  /** A program in the lab's shared world namespace (203.0.113.1; host i is 203.0.113.(10 + i) there). */
  world(argv: readonly string[], opts?: CmdOptions): Promise<RunResult>;
  down(): Promise<void>;
}

export function randomLabName(): string {
  const abc = 'abcdefghijklmnopqrstuvwxyz';
  return `e${[...randomBytes(6)].map((b) => abc[b % abc.length]).join('')}x`;
}

export async function startLab(t?: Pick<TestContext, 'after'>, opts: { hosts?: number; daemonArgs?: readonly string[]; etcd?: boolean } = {}): Promise<Lab> {
  const name = randomLabName();
  const hosts = opts.hosts ?? 3;
  const flags = [...(opts.daemonArgs ?? []).map((a) => `--daemon-arg=${a}`), ...(opts.etcd ? ['--etcd'] : [])];
  const lab = makeLab(name, hosts);
  const up = await cmd([REDES_BIN, 'lab', 'up', '--name', name, '--hosts', String(hosts), ...flags], { allowFail: true, timeoutMs: 60_000 + hosts * 15_000 });
  if (up.code !== 0) {
    await lab.down().catch(() => undefined);
    throw new Error(`redes lab up failed (${up.code}):\n${up.stderr}`);
  }
  t?.after(() => lab.down());
  return lab;
}

/** A lab that is already up (made by `redes lab up`), e.g. to run a benchmark again in it; `down` removes it. */
export function openLab(name: string, count: number): Lab {
  return makeLab(name, count);
}

function makeLab(name: string, count: number): Lab {
  const hosts = Array.from({ length: count }, (_, i) => makeSandbox(`${name}${i + 1}`));
  let downed: Promise<void> | undefined;
  const env = (): NodeJS.ProcessEnv => {
    const e: NodeJS.ProcessEnv = { ...process.env, DOCKER_CLI_HINTS: 'false' };
    for (const k of ['DOCKER_HOST', 'DOCKER_CONTEXT', 'DOCKER_TLS_VERIFY', 'DOCKER_CERT_PATH', 'DOCKER_API_VERSION']) delete e[k];
    return e;
  };
  const lab: Lab = {
    name,
    hosts,
    lanAddr: (i) => `198.51.100.${10 + i}`,
    context: (i, args, o) => cmd([DOCKER_BIN, '--context', `${name}-${i}`, ...args], o, env()),
    lan: (argv, o) => cmd(['nsenter', `--net=/run/netns/${name}-lan`, '--', ...argv], o),
    world: (argv, o) => cmd(['nsenter', `--net=/run/netns/${name}-world`, '--', ...argv], o),
    down() {
      downed ??= (async () => {
        await cmd([REDES_BIN, 'lab', 'down', name], { timeoutMs: Math.max(240_000, 60_000 + count * 10_000) });
        await assertLabGone(name, count);
      })();
      return downed;
    },
    [Symbol.asyncDispose]: () => lab.down(),
  };
  return lab;
}

const exists = (path: string): Promise<boolean> => stat(path).then(() => true, () => false);

/** Throws when anything of lab `name` is left: hosts, shared namespaces, its directory, contexts, etcd. */
export async function assertLabGone(name: string, count: number): Promise<void> {
  const left: string[] = [];
  for (let i = 1; i <= count; i++) {
    try {
      await assertNothingLeft(`${name}${i}`);
    } catch (e) {
      left.push((e as Error).message);
    }
  }
  for (const ns of await netnsList()) if (ns.startsWith(`${name}-`) || new RegExp(`^${name}\\d+$`).test(ns)) left.push(`netns ${ns}`);
  if (await exists(`/run/redes-lab/${name}`)) left.push(`directory /run/redes-lab/${name}`);
  const contexts = await cmd([DOCKER_BIN, 'context', 'ls', '--format', '{{.Name}}']);
  for (const c of contexts.stdout.split('\n')) if (c.trim().startsWith(`${name}-`)) left.push(`docker context ${c.trim()}`);
  for (const d of await readdir('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const argv = await pidCmdline(Number(d));
    // An engine's member (data under its data root) or the lab's own (`up --etcd`, under the lab's directory).
    if (argv?.[0]?.endsWith('etcd') && argv.some((a) => a.startsWith(`/var/lib/redes/${name}`) || a.startsWith(`/run/redes-lab/${name}/`))) left.push(`etcd process ${d}`);
  }
  if (left.length) throw new Error(`lab ${name} left behind:\n  ${left.join('\n  ')}`);
}

/**
 * Who holds each address of overlay network `net`, from `network inspect` on hosts 1..count; fails
 * when one address is listed for two containers (across hosts too). Returns address → name.
 */
export async function addressHolders(lab: Lab, net: string, count = 3): Promise<Map<string, string>> {
  const held = new Map<string, string>();
  for (let h = 1; h <= count; h++) {
    const out = await lab.context(h, ['network', 'inspect', '-f', '{{range .Containers}}{{.Name}} {{.IPv4Address}}\n{{end}}', net]);
    for (const line of out.stdout.trim().split('\n').filter(Boolean)) {
      const [name, cidr] = line.trim().split(' ');
      const ip = (cidr ?? '').split('/')[0] ?? '';
      assert.ok(!held.has(ip), `${ip} held by ${name} and ${held.get(ip)} (inspect)`);
      held.set(ip, name ?? '');
    }
  }
  return held;
}
