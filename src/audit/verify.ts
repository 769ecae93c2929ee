/**
 * `--verify`: every check of the matrix is tried for real, from the source's own network namespace
 * (containers), the engine host's (host) or the world's, all namespaces at once, and each result is
 * set beside the model's verdict. A disagreement is a bug of the model or of the firewall, and is
 * reported with both sides.
 *
 * Use: `await verifyMatrix(facts, matrix, { probe: runProbes, worldNetns })`; it fills `check.probe`.
 *
 * Beware: what counts as "reached": for a container or host target, a TCP connection or an RST, an
 * ICMP port unreachable for UDP, an echo reply; for a published port, only a TCP connection or a UDP
 * answer (an RST there comes from the host, which means the port was not forwarded). So published
 * ports need a listener behind them to verify as allowed.
 */
import type { AuditFacts } from './facts.js';
import type { ProbeOutcome, ProbeRequest, ProbeResult } from '../kernel/index.js';
import { peerLabel, type Cell, type Check, type Matrix, type Verdict } from './matrix.js';

/** kernel/probe.ts's runProbes, or a fake in tests. */
export type ProbeFn = (groups: Array<{ netns: string | undefined; probes: ProbeRequest[] }>, timeoutMs: number) => Promise<ProbeResult[]>;

export interface Disagreement {
  from: string;
  to: string;
  via: string;
  proto: string;
  port: number;
  addr: string;
  model: Verdict;
  reason: string;
  probe: ProbeOutcome;
}

export interface VerifyResult {
  probes: number;
  agreed: number;
  /** Checks not probed (the world has no namespace to probe from, or the model said unknown). */
  skipped: number;
  milliseconds: number;
  /** Probes tried a second time (their first result disagreed), and how long the first pass took. */
  retried: number;
  firstPassMs: number;
  disagreements: Disagreement[];
  /** Probe agents that failed twice (their checks count as skipped). */
  errors?: string[];
}

export interface ProbedCheck extends Check {
  probe?: { outcome: ProbeOutcome; ms: number; agrees: boolean };
}


/** Did the probe reach what the check is about? */
export function reached(cell: Cell, outcome: ProbeOutcome): boolean {
  if (cell.kind === 'world-published' || cell.kind === 'host-published') return outcome === 'open';
  return outcome === 'open' || outcome === 'refused';
}

export async function verifyMatrix(facts: AuditFacts, m: Matrix, opts: { probe: ProbeFn; worldNetns?: string; timeoutMs?: number }): Promise<VerifyResult> {
  const t0 = performance.now();
  const timeoutMs = opts.timeoutMs ?? 1000;
  const bySource = new Map<string, { netns: string | undefined; items: Array<{ cell: Cell; check: ProbedCheck; req: ProbeRequest }> }>();
  let id = 0;
  let skipped = 0;
  for (const cell of m.cells) {
    let key: string;
    let netns: string | undefined;
    if (cell.from.kind === 'container') {
      const from = cell.from;
      netns = facts.containers.find((c) => c.id === from.id)?.netns;
      key = `c:${from.id}`;
      if (!netns) {
        skipped += cell.checks.length;
        continue;
      }
    } else if (cell.from.kind === 'host') {
      key = 'host';
      netns = undefined;
    } else {
      if (!opts.worldNetns) {
        skipped += cell.checks.length;
        continue;
      }
      key = 'world';
      netns = opts.worldNetns;
    }
    const group = bySource.get(key) ?? { netns, items: [] };
    bySource.set(key, group);
    for (const check of cell.checks) {
      if (check.verdict === 'unknown') {
        skipped++;
        continue;
      }
      group.items.push({ cell, check, req: { id: id++, proto: check.proto, addr: check.addr, port: check.port } });
    }
  }
  const disagreements: Disagreement[] = [];
  let probes = 0;
  const groups = [...bySource.values()];
  const errors: string[] = [];
  // One program probes from every namespace at once. A failed run is tried once more; its checks are
  // then left unprobed and the error reported, never turned into verdicts.
  const probe = async (batch: Array<{ netns: string | undefined; probes: ProbeRequest[] }>, ms: number): Promise<ProbeResult[]> => {
    if (batch.every((b) => b.probes.length === 0)) return [];
    try {
      return await opts.probe(batch, ms);
    } catch {
      try {
        return await opts.probe(batch, ms);
      } catch (e) {
        errors.push((e as Error).message);
        return [];
      }
    }
  };
  const firstResults = await probe(groups.map((g) => ({ netns: g.netns, probes: g.items.map((i) => i.req) })), timeoutMs);
  const firstMs = Math.round(performance.now() - t0);
  // A loaded machine can starve a probe past its budget: a check whose probe disagrees is tried
  // once more with three times the budget before it counts as a disagreement.
  const firstById = new Map(firstResults.map((r) => [r.id, r]));
  const retry = groups.map((g) => ({
    netns: g.netns,
    probes: g.items.filter((it) => {
      const r = firstById.get(it.req.id);
      return !!r && reached(it.cell, r.outcome) !== (it.check.verdict === 'allowed');
    }).map((it) => it.req),
  }));
  const again = await probe(retry, timeoutMs * 3);
  const byId = new Map([...firstResults, ...again].map((r) => [r.id, r]));
  for (const g of groups) {
    for (const it of g.items) {
      const r = byId.get(it.req.id);
      if (!r) continue;
      probes++;
      const agrees = reached(it.cell, r.outcome) === (it.check.verdict === 'allowed');
      it.check.probe = { outcome: r.outcome, ms: r.ms, agrees };
      if (!agrees) {
        disagreements.push({ from: peerLabel(it.cell.from), to: peerLabel(it.cell.to), via: it.cell.via, proto: it.check.proto, port: it.check.port, addr: it.check.addr, model: it.check.verdict, reason: it.check.reason, probe: r.outcome });
      }
    }
  }
  const probed = groups.reduce((n, g) => n + g.items.length, 0);
  const retried = again.length;
  return { probes, agreed: probes - disagreements.length, skipped: skipped + probed - probes, retried, firstPassMs: firstMs, milliseconds: Math.round(performance.now() - t0), disagreements, ...(errors.length ? { errors } : {}) };
}

