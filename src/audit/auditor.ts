/**
 * The daemon's auditor: gathers the facts and the live ruleset, builds the report, and with
 * `verify` probes every check from inside the namespaces.
 *
 * Use: `const auditor = new Auditor(sources, { worldNetns })`; `await auditor.report({ verify })`.
 *
 * Beware: two audits at once are fine (reads only), but verify probes from every container's
 * namespace at once: on 2 cores keep them to one at a time (the API serialises them here).
 */
import { runProbes } from '../kernel/index.js';
import { collectFacts, liveRuleset, type AuditSources } from './collect.js';
import { buildReport, type AuditReport } from './report.js';
import { topologySvg } from './topology.js';
import { verifyMatrix } from './verify.js';

export class Auditor {
  private verifying: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly sources: AuditSources,
    private readonly opts: { worldNetns?: string; timeoutMs?: number } = {},
  ) {}

  async topologySvg(): Promise<string> {
    return topologySvg(await collectFacts(this.sources));
  }

  async report(opts: { verify?: boolean } = {}): Promise<AuditReport> {
    const [facts, ruleset] = await Promise.all([collectFacts(this.sources), liveRuleset()]);
    const report = buildReport(facts, ruleset);
    if (!opts.verify) return report;
    const run = this.verifying.then(() =>
      verifyMatrix(facts, report.matrix, { probe: runProbes, ...(this.opts.worldNetns ? { worldNetns: this.opts.worldNetns } : {}), timeoutMs: this.opts.timeoutMs ?? 1000 }),
    );
    this.verifying = run.catch(() => undefined);
    report.verify = await run;
    return report;
  }
}
