/**
 * Connection probes from inside many network namespaces at once, by one `redes-probe` process
 * (src/kernel/probe/redes-probe.c, built into dist/redes-probe): it enters each namespace only to make
 * that namespace's sockets (a socket keeps its namespace), then waits for every answer in one poll loop.
 *
 * Use: `await runProbes([{ netns: 'redes-c-0123abcd', probes: [{ id: 1, proto: 'tcp', addr: '172.18.0.2', port: 80 }] }])`;
 * `netns` undefined means the caller's own namespace.
 *
 * Beware: the program needs root (setns, raw ICMP sockets). It costs a few milliseconds of CPU for
 * hundreds of probes, where a process per namespace cost about 0.4 s each.
 */
import { accessSync, constants } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { run } from './run.js';

export type ProbeOutcome = 'open' | 'refused' | 'unreachable' | 'timeout' | 'error';

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

export interface ProbeGroup {
  /** A name under /run/netns, or undefined for the caller's namespace. */
  netns: string | undefined;
  probes: readonly ProbeRequest[];
}

const NETNS_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;
const OUTCOMES = new Set(['open', 'refused', 'unreachable', 'timeout', 'error']);

function probeBinary(): string {
  for (const p of [process.env.REDES_PROBE, fileURLToPath(new URL('../../redes-probe', import.meta.url)), fileURLToPath(new URL('../../dist/redes-probe', import.meta.url))]) {
    if (!p) continue;
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // the next place
    }
  }
  throw new Error('redes-probe not found: run scripts/build-probe.sh (or set REDES_PROBE)');
}

/** Runs every group's probes at once; each probe waits at most `timeoutMs` after the set-up. */
export async function runProbes(groups: readonly ProbeGroup[], timeoutMs = 1000): Promise<ProbeResult[]> {
  const lines: string[] = [];
  for (const g of groups) {
    if (g.probes.length === 0) continue;
    if (g.netns !== undefined && !NETNS_NAME.test(g.netns)) throw new Error(`probe: invalid namespace name ${JSON.stringify(g.netns)}`);
    lines.push(`ns ${g.netns === undefined ? '-' : `/run/netns/${g.netns}`}`);
    for (const p of g.probes) {
      if (!IPV4.test(p.addr) || !Number.isInteger(p.port) || !Number.isInteger(p.id)) throw new Error(`probe: invalid probe ${JSON.stringify(p)}`);
      lines.push(`${p.id} ${p.proto} ${p.addr} ${p.port}`);
    }
  }
  if (lines.length === 0) return [];
  const r = await run([probeBinary(), String(Math.round(timeoutMs))], { input: lines.join('\n') + '\n', timeoutMs: timeoutMs + 30_000 });
  return r.stdout.split('\n').flatMap((l) => {
    const [id, outcome, ms] = l.split(' ');
    return id && outcome && OUTCOMES.has(outcome) ? [{ id: Number(id), outcome: outcome as ProbeOutcome, ms: Number(ms) }] : [];
  });
}
