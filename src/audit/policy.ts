/**
 * The policy gate: a YAML file of the flows that are allowed between named groups, everything else
 * denied, checked against the matrix both ways: a flow the matrix allows that no rule declares
 * (`undeclared`), and a declared flow the matrix blocks (`blocked`).
 *
 * Format (documented in README.md beside this file):
 *   groups:
 *     front: { names: [web, api] }          # container names
 *     back:  { labels: { tier: db } }       # every label must match
 *   allow:
 *     - { from: front, to: back, ports: [80/tcp] }   # ports optional: any
 *     - { from: world, to: front }                   # world: published ports, from outside
 *     - { from: "*", to: host }                      # "*": any container; host: the engine host
 *
 * Use: `const p = parsePolicy(text)`; `checkPolicy(p, report)` → violations.
 *
 * Beware: a rule's ports are matched against the checks the matrix made (the target's exposed ports,
 * one unexposed port, ICMP as `icmp`); for a published port, against the host port.
 */
import { parse as parseYaml } from 'yaml';
import type { AuditContainer, AuditFacts } from './facts.js';
import { peerLabel, type Cell, type Matrix } from './matrix.js';

export interface PolicyGroup {
  names?: string[];
  labels?: Record<string, string>;
}

export interface PolicyRule {
  from: string;
  to: string;
  /** `80/tcp`, `53/udp`, `icmp`; absent: every port. */
  ports?: string[];
}

export interface Policy {
  groups: Record<string, PolicyGroup>;
  allow: PolicyRule[];
}

export interface Violation {
  kind: 'undeclared' | 'blocked';
  from: string;
  to: string;
  via: string;
  /** The checks concerned (`80/tcp`, `icmp`). */
  ports: string[];
  reason: string;
  detail: string;
}

const BUILTIN = new Set(['world', 'host', '*']);
const PORT = /^(\d{1,5})\/(tcp|udp)$|^icmp$/;

export class PolicyError extends Error {}

function fail(msg: string): never {
  throw new PolicyError(`invalid policy: ${msg}`);
}

function strings(v: unknown, where: string): string[] {
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string' && typeof x !== 'number')) fail(`${where} must be a list of strings`);
  return (v as Array<string | number>).map(String);
}

/** Parses and validates a policy; unknown keys are refused by name. */
export function parsePolicy(text: string): Policy {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (e) {
    fail((e as Error).message);
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) fail('the document must be a mapping with "groups" and "allow"');
  const d = doc as Record<string, unknown>;
  for (const k of Object.keys(d)) if (k !== 'groups' && k !== 'allow') fail(`unknown key ${JSON.stringify(k)} (want groups, allow)`);
  const groups: Record<string, PolicyGroup> = {};
  const g = d.groups ?? {};
  if (typeof g !== 'object' || Array.isArray(g)) fail('groups must be a mapping of group name to { names, labels }');
  for (const [name, spec] of Object.entries(g as Record<string, unknown>)) {
    if (BUILTIN.has(name)) fail(`group name ${JSON.stringify(name)} is reserved`);
    if (!spec || typeof spec !== 'object' || Array.isArray(spec)) fail(`group ${name} must be a mapping with names and/or labels`);
    const s = spec as Record<string, unknown>;
    for (const k of Object.keys(s)) if (k !== 'names' && k !== 'labels') fail(`group ${name}: unknown key ${JSON.stringify(k)} (want names, labels)`);
    const out: PolicyGroup = {};
    if (s.names !== undefined) out.names = strings(s.names, `group ${name}: names`);
    if (s.labels !== undefined) {
      if (!s.labels || typeof s.labels !== 'object' || Array.isArray(s.labels)) fail(`group ${name}: labels must be a mapping`);
      out.labels = Object.fromEntries(Object.entries(s.labels as Record<string, unknown>).map(([k, v]) => [k, String(v)]));
    }
    if (!out.names && !out.labels) fail(`group ${name} needs names or labels`);
    groups[name] = out;
  }
  if (!Array.isArray(d.allow)) fail('allow must be a list of { from, to, ports }');
  const allow = (d.allow as unknown[]).map((r, i): PolicyRule => {
    if (!r || typeof r !== 'object' || Array.isArray(r)) fail(`allow[${i}] must be a mapping`);
    const x = r as Record<string, unknown>;
    for (const k of Object.keys(x)) if (!['from', 'to', 'ports'].includes(k)) fail(`allow[${i}]: unknown key ${JSON.stringify(k)} (want from, to, ports)`);
    if (typeof x.from !== 'string' || typeof x.to !== 'string') fail(`allow[${i}] needs from and to`);
    const rule: PolicyRule = { from: x.from, to: x.to };
    if (x.ports !== undefined) {
      rule.ports = strings(x.ports, `allow[${i}].ports`);
      for (const p of rule.ports) if (!PORT.test(p)) fail(`allow[${i}]: port ${JSON.stringify(p)} must look like 80/tcp, 53/udp or icmp`);
    }
    return rule;
  });
  return { groups, allow };
}

function member(p: Policy, term: string, peer: Cell['from'], facts: AuditFacts): boolean {
  if (term === 'world' || term === 'host') return peer.kind === term;
  if (peer.kind !== 'container') return false;
  if (term === '*') return true;
  const g = p.groups[term];
  if (!g) return peer.name === term;
  const c: AuditContainer | undefined = facts.containers.find((x) => x.id === peer.id);
  if (g.names?.includes(peer.name)) return true;
  return !!g.labels && !!c && Object.entries(g.labels).every(([k, v]) => c.labels[k] === v);
}

const portOf = (k: { proto: string; port: number }): string => (k.proto === 'icmp' ? 'icmp' : `${k.port}/${k.proto}`);

/** Violations of the policy by the matrix, both ways. */
export function checkPolicy(p: Policy, report: { facts: AuditFacts; matrix: Matrix }): Violation[] {
  for (const r of p.allow) {
    for (const t of [r.from, r.to]) {
      if (!BUILTIN.has(t) && !p.groups[t] && !report.facts.containers.some((c) => c.name === t) && !(report.facts.remotes ?? []).some((c) => c.name === t)) {
        throw new PolicyError(`invalid policy: ${JSON.stringify(t)} is neither a group, a container, world, host nor "*"`);
      }
    }
  }
  const out: Violation[] = [];
  const pairs = new Map<string, Cell[]>();
  for (const cell of report.matrix.cells) {
    const rules = p.allow.filter((r) => member(p, r.from, cell.from, report.facts) && member(p, r.to, cell.to, report.facts));
    const declared = (k: { proto: string; port: number }): boolean => rules.some((r) => !r.ports || r.ports.includes(portOf(k)));
    const undeclared = cell.checks.filter((k) => k.verdict === 'allowed' && !declared(k));
    if (undeclared.length) {
      const k = undeclared[0] as (typeof undeclared)[number];
      out.push({ kind: 'undeclared', from: peerLabel(cell.from), to: peerLabel(cell.to), via: cell.via, ports: undeclared.map(portOf), reason: k.reason, detail: k.detail });
    }
    if (rules.length === 0) continue;
    const key = `${peerLabel(cell.from)}|${peerLabel(cell.to)}`;
    pairs.set(key, [...(pairs.get(key) ?? []), cell]);
  }
  // A declared flow is blocked when no path between the two (any network, any gateway) carries it.
  for (const cells of pairs.values()) {
    const first = cells[0] as Cell;
    const rules = p.allow.filter((r) => member(p, r.from, first.from, report.facts) && member(p, r.to, first.to, report.facts));
    const checks = cells.flatMap((c) => c.checks);
    const wanted = [...new Set(rules.flatMap((r) => r.ports ?? []))].filter((port) => checks.some((k) => portOf(k) === port));
    const anyPort = rules.some((r) => !r.ports);
    const blockedPorts = wanted.filter((port) => !checks.some((k) => portOf(k) === port && k.verdict === 'allowed'));
    const blockedAll = anyPort && !checks.some((k) => k.verdict === 'allowed');
    if (blockedPorts.length === 0 && !blockedAll) continue;
    const k = checks.find((x) => x.verdict !== 'allowed' && (blockedAll || blockedPorts.includes(portOf(x)))) ?? checks[0];
    const via = cells.map((c) => c.via).join(', ');
    out.push({ kind: 'blocked', from: peerLabel(first.from), to: peerLabel(first.to), via, ports: blockedAll ? ['any'] : blockedPorts, reason: k?.reason ?? 'no-route', detail: k?.detail ?? '' });
  }
  return out;
}
