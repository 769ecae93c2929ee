/**
 * The audit for people: aligned tables (no colours, so they survive pipes and CI logs).
 *
 * Use: `renderReport(report, { violations })` → text.
 */
import { peerLabel, type Cell } from './matrix.js';
import type { Violation } from './policy.js';
import type { AuditReport } from './report.js';

/** Columns padded to their widest cell, two spaces apart, no trailing blanks. */
export function table(headers: string[], rows: string[][]): string {
  const all = [headers, ...rows];
  const widths = headers.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  return all.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  ').trimEnd()).join('\n') + '\n';
}

const SYMBOL: Record<Cell['verdict'], string> = { allowed: 'yes', denied: '-', partial: 'some', unknown: '?' };

/** Sources down, container endpoints across (`name@network`). */
function grid(cells: Cell[]): string {
  const cc = cells.filter((c) => c.kind === 'container-container' || c.kind === 'host-container');
  const cols = [...new Set(cc.map((c) => `${peerLabel(c.to)}@${c.via}`))].sort();
  const rows = [...new Set(cc.map((c) => peerLabel(c.from)))].sort((a, b) => (a === 'host' ? 1 : b === 'host' ? -1 : a.localeCompare(b)));
  const at = new Map(cc.map((c) => [`${peerLabel(c.from)}|${peerLabel(c.to)}@${c.via}`, c]));
  return table(['FROM \\ TO', ...cols], rows.map((r) => [r, ...cols.map((col) => {
    const c = at.get(`${r}|${col}`);
    return c ? SYMBOL[c.verdict] : r === col.split('@')[0] ? '(self)' : '';
  })]));
}

function checksText(c: Cell): string {
  if (c.verdict !== 'partial') return '';
  return c.checks.filter((k) => k.verdict === 'allowed').map((k) => (k.proto === 'icmp' ? 'icmp' : `${k.port}/${k.proto}`)).join(',');
}

export function renderReport(r: AuditReport, opts: { violations?: Violation[] } = {}): string {
  const out: string[] = [];
  out.push('REACHABILITY (yes: every check passes, some: only some ports, -: denied)\n');
  out.push(grid(r.matrix.cells));
  out.push('\nFLOWS\n');
  out.push(table(['FROM', 'TO', 'VIA', 'VERDICT', 'ONLY', 'REASON', 'DETAIL'], r.matrix.cells.map((c) => [peerLabel(c.from), peerLabel(c.to), c.via, c.verdict, checksText(c), c.reason, c.verdict === 'allowed' ? '' : c.detail])));
  out.push('\nPUBLISHED PORTS\n');
  out.push(r.exposure.ports.length
    ? table(['CONTAINER', 'PUBLISHED', 'TO', 'WORLD', 'HOST', 'CONTAINERS', 'FLAGS'], r.exposure.ports.map((p) => [
      p.container, `${p.hostIp}:${p.hostPort}/${p.proto}`, `${p.network}:${p.containerPort}`,
      p.world ? `${p.world.verdict} (${p.world.reason})` : 'n/a', p.host ? `${p.host.verdict} (${p.host.reason})` : 'n/a',
      p.containers.join(',') || '-', p.flags.join('; ') || '-',
    ]))
    : '(none)\n');
  const flagged = [...r.exposure.containers.map((c) => ['container', c.name, c.flags.join(', ')]), ...r.exposure.networks.map((n) => ['network', n.name, n.flags.join(', ')])];
  if (flagged.length) out.push('\nFLAGS\n', table(['KIND', 'NAME', 'FLAGS'], flagged));
  if (r.verify) {
    const v = r.verify;
    for (const e of r.verify.errors ?? []) out.push(`\nVERIFY ERROR: ${e}\n`);
    out.push(`\nVERIFY: ${v.probes} probes, ${v.agreed} agree with the model, ${v.disagreements.length} disagree, ${v.skipped} not probed (${(v.milliseconds / 1000).toFixed(1)} s)\n`);
    if (v.disagreements.length) {
      out.push(table(['FROM', 'TO', 'VIA', 'CHECK', 'ADDRESS', 'MODEL', 'REASON', 'PROBE'], v.disagreements.map((d) => [d.from, d.to, d.via, d.proto === 'icmp' ? 'icmp' : `${d.port}/${d.proto}`, d.addr, d.model, d.reason, d.probe])));
    }
  }
  if (opts.violations) {
    const vs = opts.violations;
    out.push(`\nPOLICY: ${vs.length === 0 ? 'no violations' : `${vs.length} violation${vs.length === 1 ? '' : 's'}`}\n`);
    if (vs.length) out.push(table(['KIND', 'FROM', 'TO', 'VIA', 'CHECKS', 'REASON', 'DETAIL'], vs.map((v) => [v.kind, v.from, v.to, v.via, v.ports.join(','), v.reason, v.detail])));
  }
  return out.join('');
}
