/**
 * Connection probes from inside a network namespace: one agent process per namespace
 * (probe-agent.ts under `nsenter --net=/run/netns/NAME`, or in the caller's own namespace) runs all
 * of that namespace's probes at once.
 *
 * Use: `await runProbes('redes-c-0123abcd', [{ id: 1, proto: 'tcp', addr: '172.18.0.2', port: 80 }])`.
 *
 * Beware: `nsenter --net` (not `ip netns exec`) so /sys stays the host's; the agent needs `busybox`
 * on PATH for ICMP. The agent's own budget is `timeoutMs` per probe; the process gets a few seconds more.
 */
import { fileURLToPath } from 'node:url';
import { run } from './run.js';
import type { ProbeOutcome } from './probe-agent.js';

export type { ProbeOutcome };

export interface ProbeRequest {
  id: number;
  proto: 'tcp' | 'udp' | 'icmp';
  addr: string;
  port: number;
}

export interface ProbeResult {
  id: number;
  outcome: ProbeOutcome;
  ms: number;
}

const AGENT = fileURLToPath(new URL('./probe-agent.js', import.meta.url));
const NETNS_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/** Runs `probes` from namespace `netns` (a name under /run/netns), or from the caller's when undefined. */
export async function runProbes(netns: string | undefined, probes: readonly ProbeRequest[], timeoutMs = 1000): Promise<ProbeResult[]> {
  if (probes.length === 0) return [];
  if (netns !== undefined && !NETNS_NAME.test(netns)) throw new Error(`probe: invalid namespace name ${JSON.stringify(netns)}`);
  const node = [process.execPath, AGENT];
  const argv = netns === undefined ? node : ['nsenter', `--net=/run/netns/${netns}`, ...node];
  const r = await run(argv, { input: JSON.stringify({ timeoutMs, probes }), timeoutMs: timeoutMs + 20_000, allowFailure: true });
  try {
    return JSON.parse(r.stdout) as ProbeResult[];
  } catch {
    throw new Error(`probe from ${netns ?? 'the host'} failed (exit ${r.code}): ${r.stderr.trim() || r.stdout.trim() || 'no output'}`);
  }
}
